"""Process identity by PID + /proc start time; tags in the environment; descendants."""

import os
import signal
import subprocess
import sys
import time

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import process as proc


def spawn(env=None):
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)


def test_stat_of_a_process_whose_name_has_spaces_and_parentheses(tmp_path):
    odd = tmp_path / "a (b) c"
    odd.symlink_to(sys.executable)
    child = subprocess.Popen([str(odd), "-c", "import time; time.sleep(60)"])
    try:
        stat = proc.wait_until(lambda: proc.read_stat(child.pid), 5)
        assert stat["comm"].startswith("a (b)")
        assert stat["ppid"] == os.getpid()
        assert stat["starttime"] > 0
    finally:
        child.kill()
        child.wait()


def test_same_process_only_with_the_same_start_time():
    child = spawn()
    try:
        started = proc.start_time(child.pid)
        assert proc.is_same(child.pid, started)
        assert not proc.is_same(child.pid, started - 1)  # what a reused PID looks like
        assert not proc.is_same(None, started)
    finally:
        child.kill()
        child.wait()
    assert not proc.is_same(child.pid, started)


def test_send_refuses_a_process_with_another_start_time():
    child = spawn()
    try:
        started = proc.start_time(child.pid)
        assert not proc.send(child.pid, started + 1, signal.SIGKILL)
        time.sleep(0.1)
        assert child.poll() is None, "a process that is not the recorded one must not be signalled"
        assert proc.send(child.pid, started, signal.SIGKILL)
        assert child.wait(5) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_zombies_count_as_ended():
    child = spawn()
    started = proc.start_time(child.pid)
    os.kill(child.pid, signal.SIGKILL)
    assert proc.wait_until(lambda: proc.read_stat(child.pid) is None, 5)  # a zombie until reaped
    assert not proc.is_same(child.pid, started)
    child.wait()


def test_tagged_finds_processes_by_their_environment():
    tag = "unit-%d" % os.getpid()
    tagged_child = spawn(dict(os.environ, ROVERLAB_LAUNCH_ID=tag))
    other_child = spawn(dict(os.environ, ROVERLAB_LAUNCH_ID=tag + "x"))
    try:
        found = proc.wait_until(lambda: proc.tagged("ROVERLAB_LAUNCH_ID", tag), 5)
        assert [pid for pid, _s in found] == [tagged_child.pid]
        assert proc.tagged("ROVERLAB_LAUNCH_ID", tag, exclude=(tagged_child.pid,)) == []
    finally:
        for child in (tagged_child, other_child):
            child.kill()
            child.wait()


def test_descendants_include_grandchildren():
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
            "'import time; time.sleep(60)']); time.sleep(60)",
        ],
        start_new_session=True,
    )
    try:
        found = proc.wait_until(lambda: len(proc.descendants(parent.pid)) == 1 and proc.descendants(parent.pid), 5)
        assert found and found[0][0] != parent.pid
        assert parent.pid in [pid for pid, _s in proc.descendants(os.getpid())]
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()


def test_group_signal_needs_the_same_leader():
    leader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        started = proc.start_time(leader.pid)
        assert not proc.send_group(leader.pid, started + 5, signal.SIGTERM)
        assert proc.send_group(leader.pid, started, signal.SIGTERM)
        assert leader.wait(5) == -signal.SIGTERM
    finally:
        if leader.poll() is None:
            leader.kill()
            leader.wait()


def test_boot_id_and_uptime():
    assert len(proc.boot_id()) == 36
    assert proc.uptime_of(proc.start_time(os.getpid())) >= 0
