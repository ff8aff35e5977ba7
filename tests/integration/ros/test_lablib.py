"""The robot lab's own behaviour that the other tests rely on: leftovers from an earlier lab (scripts/lablib)."""

import os
import signal
import subprocess
import time

import pytest
from conftest import require_root_and_ros1
from lablib import RobotLab, free_subnet_base, netns, procs  # conftest puts scripts/ on sys.path


@pytest.fixture
def small_lab(tmp_path):
    require_root_and_ros1()
    lab = RobotLab(str(tmp_path / "lab"), prefix="rll%d" % os.getpid(), subnet_base=free_subnet_base(240, avoid={201}))
    yield lab
    lab.destroy()
    netns.delete(lab.robot_name(1), lab.host_interface(1))


def test_an_empty_namespace_left_by_an_earlier_lab_is_replaced(small_lab):
    # what a machine session that ended with the lab up leaves: the namespace, with nothing running in it
    name = small_lab.robot_name(1)
    netns.ip("netns", "add", name)
    small_lab.create(1)
    robot = small_lab.robots[0]
    assert small_lab.status()[name] == {"address": robot.address, "namespace": True, "sshd": True, "roscore": True}


def test_a_namespace_another_lab_still_runs_in_is_refused_and_left_alone(small_lab):
    name = small_lab.robot_name(1)
    netns.ip("netns", "add", name)
    squatter = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "60"])
    try:
        deadline = time.monotonic() + 5
        while squatter.pid not in procs.namespace_pids(name) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert squatter.pid in procs.namespace_pids(name)
        with pytest.raises(RuntimeError, match="with processes .*%d.* in it" % squatter.pid):
            small_lab.create(1)
        assert netns.exists(name) and squatter.poll() is None
        assert small_lab.robots == []
    finally:
        squatter.send_signal(signal.SIGKILL)
        squatter.wait()
