"""The supervisor with plain processes standing in for roslaunch (STAND-IN: no ROS needed here).

The launch here is a shell script: it writes its PID, may start a child that outlives it (like a node
orphaned by a crashed roslaunch) and may exit with a code. The supervisor is the real one, forked.
"""

import contextlib
import os
import signal
import uuid
from pathlib import Path

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import process as proc
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.command import TAG_NAME
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.state import StateStore
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.supervisor import (
    SupervisorError,
    exit_description,
    spawn,
)

POLICY = {"restart": "never", "restart_limit": 2, "restart_window": 60, "restart_delay": 0.2, "orphan_grace": 1.0}


@pytest.fixture
def store(tmp_path):
    store = StateStore(str(tmp_path / "state"), "demo")
    store.ensure_dir()
    store.rotate_log()
    return store


def start(store, script, policy=None):
    # each launch has its own tag, as in the module (tags are how leftovers are found and ended)
    tag = uuid.uuid4().hex
    store.save_request({"tag": tag, "stop_requested": False})
    env = {"PATH": os.environ["PATH"], TAG_NAME: tag}
    return spawn(store, ["sh", "-c", script], env, store.dir, tag, dict(POLICY, **(policy or {})))


def supervisor_done(store, processes, timeout=10):
    sup = processes["supervisor"]
    ended = proc.wait_until(lambda: not proc.is_same(sup["pid"], sup["starttime"]), timeout)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(sup["pid"], 0)  # the supervisor is our child here (the module exits on a robot)
    return ended


def test_exit_code_and_log(store):
    processes = start(store, "echo hello from the launch; exit 3")
    assert processes["launch"]["pid"] > 0
    assert supervisor_done(store, processes)
    run = store.load_run()
    assert run["phase"] == "ended" and run["exits"][-1]["code"] == 3
    log = Path(store.log_file).read_text()
    assert "hello from the launch" in log and "exit code 3" in log


def test_orphans_of_a_crashed_launch_are_ended(store):
    # the "launch" starts a long-running child in its own session (as roslaunch does with nodes), then dies
    processes = start(store, "setsid sleep 300 & echo $! > child.pid; sleep 0.3; kill -9 $$")
    assert supervisor_done(store, processes, timeout=15)
    child = int(Path(store.dir, "child.pid").read_text())
    assert not proc.read_stat(child), "the orphaned child must be gone"
    assert store.load_run()["exits"][-1]["code"] == -9
    assert "left behind" in Path(store.log_file).read_text()


def test_restart_on_failure_up_to_the_limit(store):
    processes = start(store, "exit 1", policy={"restart": "on-failure"})
    assert supervisor_done(store, processes, timeout=15)
    run = store.load_run()
    assert run["restarts"] == 2 and len(run["exits"]) == 3
    assert "restart_limit" in Path(store.log_file).read_text()


def test_no_restart_after_a_requested_stop(store):
    processes = start(store, "sleep 300", policy={"restart": "on-failure"})
    request = store.load_request()
    request["stop_requested"] = True
    store.save_request(request)
    launch = processes["launch"]
    assert proc.send_group(launch["pid"], launch["starttime"], signal.SIGTERM)
    assert supervisor_done(store, processes)
    assert store.load_run()["restarts"] == 0


def test_the_launch_does_not_inherit_an_ignored_sigint(store):
    processes = start(store, "grep SigIgn /proc/$$/status > sigign; sleep 300")
    try:
        path = Path(store.dir, "sigign")
        proc.wait_until(lambda: path.exists() and path.read_text(), 5)
        ignored = int(path.read_text().split()[1], 16)
        assert not ignored & (1 << (signal.SIGINT - 1))
    finally:
        launch = processes["launch"]
        proc.send_group(launch["pid"], launch["starttime"], signal.SIGKILL)
        supervisor_done(store, processes)


def test_a_missing_program_is_reported(store):
    store.save_request({"tag": "t", "stop_requested": False})
    with pytest.raises(SupervisorError, match="cannot run no-such-program"):
        spawn(store, ["no-such-program"], {"PATH": "/usr/bin"}, store.dir, "t", POLICY)


def test_supervisor_detaches_into_its_own_session(store):
    processes = start(store, "sleep 300")
    try:
        sup = proc.read_stat(processes["supervisor"]["pid"])
        launch = proc.read_stat(processes["launch"]["pid"])
        assert sup["sid"] == sup["pid"] != os.getsid(0)
        assert launch["pgid"] == launch["pid"] and launch["sid"] == sup["sid"]
        # only stdin, stdout and stderr, once the handshake pipe is closed
        fds = proc.wait_until(lambda: sorted(int(fd) for fd in os.listdir("/proc/%d/fd" % sup["pid"])) == [0, 1, 2], 5)
        assert fds
    finally:
        launch = processes["launch"]
        proc.send_group(launch["pid"], launch["starttime"], signal.SIGKILL)
        supervisor_done(store, processes)


def test_exit_description():
    assert exit_description(0) == (0, None)
    assert exit_description(-9) == (-9, "SIGKILL")
    assert exit_description(None) == (None, None)
