"""roverlab.clouddesktop.ros_launch (the module's main()) on the ROS 2 path.

ROS 2 cannot be installed on this Debian host, so a STAND-IN `ros2` (a shell script) plays it: `ros2 launch`
records its arguments and environment and runs until interrupted; `ros2 node list` lists /talker while that
launch runs. Everything else is real: the module, the sourcing of the setup file in a clean bash, the
allowlist, the forked supervisor, the state files, the readiness wait and the stop. The real ROS 1 path is
covered by tests/integration/ros.
"""

import json
import os
import subprocess
import textwrap

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import allowlist as _ros_allowlist
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import command as cmd
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import lifecycle
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import process as proc
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.state import StateError, StateStore
from ansible_collections.roverlab.clouddesktop.plugins.modules import ros_launch

FAKE_ROS2 = textwrap.dedent(
    """\
    #!/bin/sh
    # STAND-IN for the ros2 command line (see the test module's docstring)
    case "$1" in
      launch)
        shift
        printf '%s\\n' "$@" > "$FAKE_ROS2_DIR/launch-args"
        env > "$FAKE_ROS2_DIR/launch-env"
        touch "$FAKE_ROS2_DIR/up"
        trap 'rm -f "$FAKE_ROS2_DIR/up"; exit 0' INT TERM
        while :; do sleep 0.05; done ;;
      node)
        if [ -e "$FAKE_ROS2_DIR/up" ]; then echo /talker; fi ;;
      *) exit 2 ;;
    esac
    """
)


def launch_dir(path, name="talker"):
    return path / "state" / "launches" / name


@pytest.fixture
def robot(tmp_path, monkeypatch):
    """A robot directory: fake ROS 2 in bin/, a setup file for it, an allowlist, a state directory."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ros2").write_text(FAKE_ROS2)
    (bin_dir / "ros2").chmod(0o755)
    setup = tmp_path / "setup.bash"
    setup.write_text("export ROS_VERSION=2 ROS_DISTRO=${FAKE_DISTRO:-jazzy}\nexport PATH=%s:$PATH\n" % bin_dir)
    etc = tmp_path / "etc"
    etc.mkdir()
    allowlist = etc / "allowlist.json"
    allowlist.write_text(
        json.dumps(
            {
                "launches": [{"package": "demo_nodes_py", "launch_file": "*.launch.py", "ros_version": 2}],
                "setup_files": [str(setup)],
                "env_names": ["FAKE_ROS2_DIR", "TOKEN"],
            }
        )
    )
    allowlist.chmod(0o644)
    for directory in (tmp_path, etc):
        directory.chmod(0o755)
    # the launch account's home (the secret_env key lives there): the test's own, not this user's real one
    (tmp_path / "home").mkdir()
    monkeypatch.setattr(lifecycle, "account", lambda: ("launcher", str(tmp_path / "home")))
    # the robot's allowlist is at a fixed path; here, the test's own file
    monkeypatch.setattr(_ros_allowlist, "ROBOT_ALLOWLIST", str(allowlist))
    if os.geteuid() != 0:  # the files belong to this user: let it count as root here
        monkeypatch.setattr(_ros_allowlist, "_check_owned_by_root", lambda path, what, sticky_ok=False: os.stat(path))
    base = {
        "name": "talker",
        "package": "demo_nodes_py",
        "launch_file": "talker.launch.py",
        "setup_files": [str(setup)],
        "state_dir": str(tmp_path / "state"),
        "env": {"FAKE_ROS2_DIR": str(tmp_path)},
        "wait_for": ["/talker"],
        "timeout": 10,
        "stop_timeout": 3,
    }
    yield tmp_path, base
    # a supervisor forked by a failing test must not outlive it
    for pid, started in proc.descendants(os.getpid()):
        proc.send(pid, started, 9)
    proc.reap_children()


def test_ros2_start_status_idempotent_start_and_stop(robot, run_module):
    path, base = robot
    args = dict(
        base,
        arguments={"use_sim_time": True, "robot": "tb4's; $(id)"},
        ros_domain_id=7,
        ros_static_peers=["100.64.0.1", "100.64.0.2"],
        ros_automatic_discovery_range="localhost",
    )
    result = run_module(ros_launch.main, args)
    assert result["changed"] is True, result
    assert result["state"] == "running" and result["ros_version"] == 2
    assert result["command"] == [
        "ros2",
        "launch",
        "demo_nodes_py",
        "talker.launch.py",
        "robot:=tb4's; $(id)",
        "use_sim_time:=true",
    ]
    assert result["nodes_up"] == ["/talker"]
    assert (path / "launch-args").read_text().splitlines() == result["command"][2:]
    env = dict(line.split("=", 1) for line in (path / "launch-env").read_text().splitlines() if "=" in line)
    assert env["ROS_DOMAIN_ID"] == "7"
    assert env["ROS_STATIC_PEERS"] == "100.64.0.1;100.64.0.2"
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert env["ROS_LOG_DIR"] == str(path / "state" / "launches" / "talker" / "ros_log")
    assert env["ROVERLAB_LAUNCH_ID"] == json.loads(launch_dir(path).joinpath("launch.json").read_text())["tag"]
    # nothing from the calling environment (the SSH session on a robot) reaches the launch
    assert "PYTEST_CURRENT_TEST" not in env and env["PATH"].startswith(str(path / "bin"))

    status = run_module(ros_launch.main, dict(base, state="status"))
    assert status["changed"] is False and status["state"] == "running"
    assert status["pid"] == result["pid"] and status["nodes_up"] == ["/talker"]

    again = run_module(ros_launch.main, args)
    assert again["changed"] is False and again["pid"] == result["pid"]

    stopped = run_module(ros_launch.main, dict(base, state="stopped"))
    assert stopped["changed"] is True and stopped["state"] == "stopped"
    assert stopped["exit_code"] == 0
    assert not proc.is_same(result["pid"], proc.start_time(result["pid"]) or -1)
    assert run_module(ros_launch.main, dict(base, state="stopped"))["changed"] is False


def test_check_mode_shows_the_command_and_starts_nothing(robot, run_module):
    path, base = robot
    result = run_module(ros_launch.main, dict(base, _ansible_check_mode=True, _ansible_diff=True))
    assert result["changed"] is True
    assert result["command"] == ["ros2", "launch", "demo_nodes_py", "talker.launch.py"]
    assert result["diff"]["before"] == {"state": "stopped"}
    assert result["diff"]["after"]["launch"]["ros_version"] == 2
    assert not (path / "state").exists()
    assert not (path / "launch-args").exists()


def test_ros_version_is_detected_from_the_setup_file(robot, run_module):
    _path, base = robot
    result = run_module(ros_launch.main, dict(base, _ansible_check_mode=True))
    assert result["command"][0] == "ros2"


def test_static_peers_on_humble_are_warned_about(robot, run_module, monkeypatch):
    path, base = robot
    warnings = []
    monkeypatch.setattr(ros_launch.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    setup = path / "setup.bash"
    setup.write_text(setup.read_text().replace("${FAKE_DISTRO:-jazzy}", "humble"))
    run_module(ros_launch.main, dict(base, ros_static_peers=["100.64.0.1"], _ansible_check_mode=True))
    assert any("ROS_STATIC_PEERS needs ROS 2 Iron" in w for w in warnings)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"launch_file": "secret.py"}, "does not allow package demo_nodes_py, launch file secret.py"),
        ({"env": {"LD_PRELOAD": "/tmp/x.so"}}, "LD_PRELOAD decides which code runs"),
        ({"env": {"OPENSSL_CONF": "/tmp/x.cnf"}}, "OPENSSL_CONF decides which code runs"),
        ({"secret_env": {"ROSCONSOLE_CONFIG_FILE": "/tmp/x"}}, "ROSCONSOLE_CONFIG_FILE decides which code runs"),
        ({"env": {"UNNAMED": "x"}}, "UNNAMED is not a variable a launch may set"),
        ({"setup_files": ["/etc/profile"]}, "does not allow sourcing /etc/profile"),
        ({"allowlist": "/tmp/my-own-allowlist.json"}, "allowlist is no longer an option"),
        ({"name": "../escape"}, "launch name"),
        ({"env": {"A": "1"}, "secret_env": {"A": "2"}}, "given in both env and secret_env"),
    ],
)
def test_bad_requests_fail_before_anything_changes(robot, run_module, change, message):
    path, base = robot
    result = run_module(ros_launch.main, dict(base, **change))
    assert result["failed"] is True and message in result["msg"]
    assert not (path / "state").exists()


def test_secret_values_never_reach_the_result(robot, run_module):
    path, base = robot
    secret = "hunter2-%d" % os.getpid()
    result = run_module(ros_launch.main, dict(base, secret_env={"TOKEN": secret}))
    try:
        assert secret not in json.dumps(result)
        assert "TOKEN=%s" % secret in (path / "launch-env").read_text()
        state = launch_dir(path).joinpath("launch.json").read_text()
        assert secret not in state and "secret_digest" in state
        changed = run_module(ros_launch.main, dict(base, secret_env={"TOKEN": secret + "x"}))
        assert changed["failed"] and changed["changes"] == ["secret_env: values changed (not shown)"]
        assert secret not in json.dumps(changed)
    finally:
        run_module(ros_launch.main, dict(base, state="stopped"))


def string_values(data):
    """Every string in a JSON document (keys included)."""
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in [k, *string_values(v)]]
    if isinstance(data, list):
        return [s for item in data for s in string_values(item)]
    return [data] if isinstance(data, str) else []


def test_records_are_private_and_a_short_secret_cannot_be_recovered_from_them(robot, run_module):
    path, base = robot
    old_umask = os.umask(0o022)  # a usual umask: files it does not override come out 0644
    result = run_module(ros_launch.main, dict(base, secret_env={"TOKEN": "4711"}))
    os.umask(old_umask)
    try:
        assert result["state"] == "running", result
        state_dir = path / "state"
        assert state_dir.stat().st_mode & 0o777 == 0o700
        files = [p for p in state_dir.rglob("*") if p.is_file()]
        assert {"launch.json", "run.json", "lock", "output.log"} <= {p.name for p in files}
        for directory in [p for p in state_dir.rglob("*") if p.is_dir()]:
            assert directory.stat().st_mode & 0o077 == 0, "%s is mode %o" % (directory, directory.stat().st_mode)
        for file in files:
            assert file.stat().st_mode & 0o077 == 0, "%s is mode %o" % (file, file.stat().st_mode & 0o777)
        record = json.loads(launch_dir(path).joinpath("launch.json").read_text())
        digest = record["spec"]["secret_digest"]
        # anyone holding the record tries every 4-digit secret with every random-looking string in it as the key
        for key in {s for s in string_values(record) if len(s) >= 16 and s.replace("-", "").isalnum()}:
            for guess in range(10000):
                assert cmd.secret_digest(key, {"TOKEN": str(guess)}) != digest, "recovered from the record"
        key_file = path / "home" / lifecycle.DIGEST_KEY_FILE
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert key_file.read_text().strip() not in json.dumps(record)
        again = run_module(ros_launch.main, dict(base, secret_env={"TOKEN": "4711"}))
        assert again["changed"] is False, again
    finally:
        run_module(ros_launch.main, dict(base, state="stopped"))
    assert launch_dir(path).joinpath("last.json").stat().st_mode & 0o077 == 0


def test_a_launch_that_ends_at_once_fails_with_its_log(robot, run_module):
    path, base = robot
    (path / "bin" / "ros2").write_text("#!/bin/sh\necho 'package not found: demo_nodes_py' >&2\nexit 1\n")
    result = run_module(ros_launch.main, base)
    assert result["failed"] and "ended while starting" in result["msg"]
    assert any("package not found" in line for line in result["log_tail"])
    assert result["state"] == "stopped" and result["exit_code"] == 1


@pytest.mark.parametrize("state", ["stopped", "status"])
def test_records_in_a_state_dir_others_can_write_are_not_acted_on(robot, run_module, state):
    path, base = robot
    victim = subprocess.Popen(["sleep", "60"])
    try:
        # someone else planted a record naming one of this account's processes, tag and all
        state_dir = path / "state"
        state_dir.mkdir()
        state_dir.chmod(0o777)
        pid, started = victim.pid, proc.start_time(victim.pid)
        record = {"tag": "x", "boot_id": proc.boot_id(), "ros_version": 2, "argv": ["ros2"]}
        record.update(launch={"pid": pid, "starttime": started}, supervisor={"pid": pid, "starttime": started})
        launch_dir(path).mkdir(parents=True)
        launch_dir(path).joinpath("launch.json").write_text(json.dumps(record))
        result = run_module(ros_launch.main, dict(base, state=state))
        assert result["failed"] and "writable by group or others" in result["msg"]
        assert proc.is_same(pid, started), "a process named by a foreign record must not be signalled"
    finally:
        victim.kill()
        victim.wait()


def test_right_after_a_crash_status_says_exited_and_start_starts_again(robot, run_module):
    path, base = robot
    # the launch leaves a child behind that ignores SIGINT, as a stubborn node would: the supervisor then
    # spends a while (orphan_grace) ending it after the launch itself is gone
    stubborn_child = "sh -c 'trap \"\" INT; exec sleep 60' &\n        "
    ros2 = path / "bin" / "ros2"
    ros2.write_text(FAKE_ROS2.replace('touch "$FAKE_ROS2_DIR/up"', stubborn_child + 'touch "$FAKE_ROS2_DIR/up"'))
    first = run_module(ros_launch.main, base)
    assert first["changed"] is True and first["state"] == "running", first

    def ended():
        result = run_module(ros_launch.main, dict(base, state="status"))
        return result if result["state"] != "running" else None

    os.kill(first["pid"], 9)
    try:
        status = proc.wait_until(ended, 5)
        assert status["state"] == "exited" and status["exit_code"] == -9, status
        assert proc.is_same(first["supervisor_pid"], proc.start_time(first["supervisor_pid"]) or -1)

        again = run_module(ros_launch.main, base)
        assert again.get("failed") is not True, again
        assert again["changed"] is True and again["state"] == "running" and again["pid"] != first["pid"]
        assert again["previous"]["phase"] == "exited" and again["previous"]["exit_code"] == -9
        assert not proc.read_stat(first["supervisor_pid"]), "the old supervisor must be gone"
    finally:
        run_module(ros_launch.main, dict(base, state="stopped"))


def test_a_launch_whose_record_cannot_be_written_is_stopped_again(robot, run_module, monkeypatch):
    path, base = robot
    real_save = StateStore.save_request

    def disk_full_after_spawn(store, data):
        if "supervisor" in data and not data.get("stop_requested"):
            raise StateError("cannot write %s: [Errno 28] No space left on device" % store.request_file)
        real_save(store, data)

    monkeypatch.setattr(StateStore, "save_request", disk_full_after_spawn)
    result = run_module(ros_launch.main, base)
    assert result["failed"] and "stopped again because its record could not be written" in result["msg"], result
    assert result["state"] == "stopped" and result["rollback"]["steps"]
    tag = json.loads(launch_dir(path).joinpath("last.json").read_text())["request"]["tag"]
    assert proc.tagged("ROVERLAB_LAUNCH_ID", tag) == [], "nothing of the launch may keep running"
    assert not launch_dir(path).joinpath("launch.json").exists()


def test_a_stop_works_when_the_stop_request_cannot_be_written(robot, run_module, monkeypatch):
    path, base = robot
    started = run_module(ros_launch.main, dict(base, restart_policy="on-failure", restart_delay=0.1))
    assert started["state"] == "running", started
    tag = json.loads(launch_dir(path).joinpath("launch.json").read_text())["tag"]

    def disk_full(store, data):
        raise StateError("cannot write %s: [Errno 28] No space left on device" % store.request_file)

    monkeypatch.setattr(StateStore, "save_request", disk_full)
    stopped = run_module(ros_launch.main, dict(base, state="stopped"))
    assert stopped["changed"] is True and stopped["state"] == "stopped", stopped
    assert stopped["stop_steps"][0].startswith("SIGTERM to supervisor")
    # the supervisor took SIGTERM as the stop request: no restart after the launch ended
    assert proc.wait_until(lambda: not proc.tagged("ROVERLAB_LAUNCH_ID", tag), 3) and not proc.tagged(
        "ROVERLAB_LAUNCH_ID", tag
    )
    assert not proc.read_stat(started["supervisor_pid"])


@pytest.mark.parametrize("option", ["timeout", "stop_timeout", "restart_delay", "restart_window"])
@pytest.mark.parametrize("value", [0, -1, float("nan")])
def test_durations_must_be_more_than_zero(robot, run_module, option, value):
    path, base = robot
    result = run_module(ros_launch.main, dict(base, **{option: value}))
    assert result["failed"] is True and option in result["msg"], result
    assert not (path / "state").exists()
    stop = run_module(ros_launch.main, dict(base, state="stopped", **{option: value}))
    assert stop["failed"] is True and option in stop["msg"]


def test_an_exited_launch_lists_the_processes_it_left_behind(robot, run_module):
    path, base = robot
    # a child that outlives the launch when both the launch and its supervisor are SIGKILLed
    ros2 = path / "bin" / "ros2"
    ros2.write_text(
        FAKE_ROS2.replace('touch "$FAKE_ROS2_DIR/up"', "sleep 60 &\n        echo $! > \"$FAKE_ROS2_DIR/child\"\n"
                          '        touch "$FAKE_ROS2_DIR/up"')
    )  # fmt: skip
    started = run_module(ros_launch.main, base)
    assert started["state"] == "running", started
    child = int((path / "child").read_text())
    try:
        os.kill(started["supervisor_pid"], 9)
        os.kill(started["pid"], 9)
        assert proc.wait_until(lambda: proc.read_stat(started["pid"]) is None, 5)
        status = run_module(ros_launch.main, dict(base, state="status"))
        assert status["state"] == "exited", status
        # (the fake's loop may have left a `sleep 0.05` behind too, for a moment)
        assert child in status["pids"], "a tagged process still runs: status must list it"
        stopped = run_module(ros_launch.main, dict(base, state="stopped"))
        assert stopped["changed"] is True and child in stopped["previous"]["killed"]
    finally:
        run_module(ros_launch.main, dict(base, state="stopped"))
        proc.reap_children()


def test_check_mode_stop_reports_the_state_it_would_leave(robot, run_module):
    _path, base = robot
    started = run_module(ros_launch.main, base)
    assert started["state"] == "running", started
    try:
        checked = run_module(ros_launch.main, dict(base, state="stopped", _ansible_check_mode=True))
        assert checked["changed"] is True and checked["state"] == "stopped", checked
        status = run_module(ros_launch.main, dict(base, state="status"))
        assert status["state"] == "running" and status["pid"] == started["pid"]
    finally:
        run_module(ros_launch.main, dict(base, state="stopped"))


FAKE_ROSLAUNCH = textwrap.dedent(
    """\
    #!/bin/sh
    # STAND-IN for roslaunch (ROS 1): --nodes records its arguments and lists no node; a launch records its
    # arguments and runs until interrupted
    if [ "$1" = --nodes ]; then
      shift
      printf '%s\\n' "$@" > "$FAKE_ROS_DIR/nodes-args"
      exit 0
    fi
    printf '%s\\n' "$@" > "$FAKE_ROS_DIR/launch-args"
    trap 'exit 0' INT TERM
    while :; do sleep 0.05; done
    """
)


def test_no_value_is_expanded_run_as_shell_or_put_on_a_command_line(robot, run_module, monkeypatch):
    """A play's `environment:` reaches the module's own environment; none of it may run or leak into argv."""
    path, base = robot
    canary = path / "pwned"
    (path / "bin" / "roslaunch").write_text(FAKE_ROSLAUNCH)
    (path / "bin" / "roslaunch").chmod(0o755)
    setup = path / "setup.bash"
    setup.write_text("export ROS_VERSION=1 ROS_DISTRO=noetic\nexport PATH=%s:$PATH\n" % (path / "bin"))
    allowlist = json.loads((path / "etc" / "allowlist.json").read_text())
    allowlist["launches"].append({"package": "demo", "launch_file": "talker.launch", "ros_version": 1})
    allowlist["env_names"] = ["FAKE_ROS_DIR", "ROBOT_LABEL", "FAKE_ROS2_DIR", "TOKEN"]
    (path / "etc" / "allowlist.json").write_text(json.dumps(allowlist))
    # what `environment:` on a play, block or task puts into the module's environment
    monkeypatch.setenv("f", '"; touch %s; : "' % canary)
    monkeypatch.setenv("HOME", str(path / "home"))
    value = "$HOME ~ ~root ${f} $f `touch %s` it's" % canary
    label, secret = "label-value-%d" % os.getpid(), "secret-value-%d" % os.getpid()
    calls = []
    real_init = subprocess.Popen.__init__

    def recording_init(self, args, *more, **kwargs):
        calls.append([str(a) for a in args] if isinstance(args, (list, tuple)) else [str(args)])
        real_init(self, args, *more, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", recording_init)
    args = dict(
        base,
        package="demo",
        launch_file="talker.launch",
        arguments={"prefix": value},
        env={"FAKE_ROS_DIR": str(path), "ROBOT_LABEL": label},
        secret_env={"TOKEN": secret},
    )
    args.pop("wait_for")  # ROS 1 then asks roslaunch --nodes which nodes to wait for
    result = run_module(ros_launch.main, args)
    try:
        assert not canary.exists(), "a value from the environment ran as shell code"
        assert result.get("failed") is not True, result
        assert "prefix:=%s" % value in result["command"]
        launch_args = (path / "launch-args").read_text().splitlines()
        nodes_args = (path / "nodes-args").read_text().splitlines()
        assert launch_args[-1] == nodes_args[-1] == "prefix:=%s" % value, "both must see the value byte for byte"
        assert nodes_args == launch_args[launch_args.index("demo") :]
        assert calls, "the module ran no helper command"
        for argv in calls:
            assert not any(label in a or secret in a for a in argv), argv
    finally:
        run_module(ros_launch.main, dict(base, state="stopped"))


def test_launches_whose_names_extend_each_other_keep_apart(robot, run_module):
    """With files named NAME.<suffix>, launch a's supervisor record a.run.json was launch a.run's record, and a's
    kept run a.last.json was launch a.last's record: one launch's start or stop broke the other."""
    _path, base = robot
    names = ("a.run", "a.last", "a.log", "a")
    started = {name: run_module(ros_launch.main, dict(base, name=name)) for name in names}
    try:
        for name in names:
            assert started[name]["state"] == "running", (name, started[name])
        assert run_module(ros_launch.main, dict(base, name="a", state="stopped"))["changed"] is True
        for name in ("a.run", "a.last", "a.log"):
            status = run_module(ros_launch.main, dict(base, name=name, state="status"))
            assert status["state"] == "running" and status["pid"] == started[name]["pid"], (name, status)
        again = run_module(ros_launch.main, dict(base, name="a"))
        assert again["state"] == "running", again
        for name in names:
            stopped = run_module(ros_launch.main, dict(base, name=name, state="stopped"))
            assert stopped["changed"] is True and stopped["state"] == "stopped", (name, stopped)
            assert not proc.is_same(started[name]["pid"], proc.start_time(started[name]["pid"]) or -1)
    finally:
        for name in names:
            run_module(ros_launch.main, dict(base, name=name, state="stopped"))


def test_a_launch_in_the_legacy_layout_is_refused_until_stopped(robot, run_module):
    path, base = robot
    state_dir = path / "state"
    state_dir.mkdir(mode=0o700)
    tag = "legacy-%d" % os.getpid()
    launch = subprocess.Popen(["sleep", "60"], env={"PATH": os.environ["PATH"], "ROVERLAB_LAUNCH_ID": tag})
    supervisor = subprocess.Popen(["sleep", "60"])
    try:
        record = {"version": 1, "name": "talker", "tag": tag, "boot_id": proc.boot_id(), "ros_version": 2}
        record["launch"] = {"pid": launch.pid, "starttime": proc.start_time(launch.pid)}
        record["supervisor"] = {"pid": supervisor.pid, "starttime": proc.start_time(supervisor.pid)}
        (state_dir / "talker.json").write_text(json.dumps(record))
        (state_dir / "talker.run.json").write_text(json.dumps({"tag": tag, "phase": "running"}))
        (state_dir / "talker.log").write_text("old output\n")
        for state in ("status", "started"):
            refused = run_module(ros_launch.main, dict(base, state=state))
            assert refused["failed"] and "earlier version of ros_launch" in refused["msg"], refused
            assert "state=stopped" in refused["msg"]
        assert launch.poll() is None, "nothing may be done to it but a stop"
        stopped = run_module(ros_launch.main, dict(base, state="stopped"))
        assert stopped["changed"] is True and stopped["previous"]["phase"] == "legacy", stopped
        assert launch.wait(5) == -9 and supervisor.wait(5) == -15
        assert sorted(p.name for p in state_dir.iterdir()) == ["launches", "talker.log"]
        assert run_module(ros_launch.main, base)["state"] == "running"
    finally:
        run_module(ros_launch.main, dict(base, state="stopped"))
        for leftover in (launch, supervisor):
            leftover.kill()
            leftover.wait()


def test_the_robot_decides_which_allowlist_counts(robot, run_module, monkeypatch):
    path, base = robot
    # a task that brings its own permissive allowlist is refused, whatever that file says
    own = path / "etc" / "own.json"
    own.write_text(json.dumps({"launches": [{"package": "*", "launch_file": "*"}], "setup_files": ["/**"]}))
    own.chmod(0o644)
    result = run_module(ros_launch.main, dict(base, allowlist=str(own), launch_file="secret.launch.py"))
    assert result["failed"] and "allowlist is no longer an option" in result["msg"], result
    assert not (path / "state").exists()
    # without the robot's own file nothing starts; stop and status do not need it
    monkeypatch.setattr(_ros_allowlist, "ROBOT_ALLOWLIST", str(path / "etc" / "missing.json"))
    result = run_module(ros_launch.main, base)
    assert result["failed"] and "no allowlist at %s" % (path / "etc" / "missing.json") in result["msg"]
    assert run_module(ros_launch.main, dict(base, state="status"))["state"] == "stopped"
