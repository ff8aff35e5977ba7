"""roverlab.clouddesktop.ros_launch against real ROS 1 robots (network-namespace stand-ins, see conftest.py).

Every test drives the module through ansible-playbook over SSH (playbooks/ros_launch.yml, as an admin would),
then checks the robots directly: messages on the robot's master (rostopic), parameters, and /proc scans for
the launch's tag.
"""

import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import (
    LAUNCH_PLAYBOOK,
    echo_once,
    launch_dir,
    launch_tag,
    live_pid,
    param,
    registered_nodes,
    state_file,
    tagged_pids,
    wait_for,
)

TALKER = {"package": "roverlab_demo", "file": "talker.launch"}


def start(ansible, robots, name, **variables):
    variables = dict(TALKER, **variables)
    return ansible.launch(robots, name, **variables)


def assert_ok(results, rc, raw, changed=None):
    assert rc == 0, raw[-4000:]
    for host, result in results.items():
        assert not result.get("failed"), (host, result.get("msg"))
        if changed is not None:
            assert result["changed"] is changed, (host, result)


# --- start, status, idempotence, changed settings ------------------------------------------------------


def test_start_on_three_robots_in_parallel_and_see_messages(ansible, robots, stop_after):
    stop_after.append((robots, "talker"))
    results, rc, raw = start(ansible, robots, "talker", arguments={"prefix": "{{ inventory_hostname }}", "rate": 20})
    assert_ok(results, rc, raw, changed=True)
    for robot in robots:
        result = results[robot.name]
        assert result["state"] == "running"
        assert result["nodes"] == ["/talker"] and result["nodes_up"] == ["/talker"]
        assert result["command"][:2] == ["roslaunch", "--wait"]
        assert "prefix:=%s" % robot.name in result["command"]
        assert "/talker" in registered_nodes(robot)
        # each robot's talker publishes on its own master, with its own argument
        assert 'data: "%s #' % robot.name in echo_once(robot)
        tag = launch_tag(robot, "talker")
        assert result["pid"] in tagged_pids(tag)
        assert set(result["pids"]) == set(tagged_pids(tag))
        assert result["clock_skew"]["uncertainty"] < 0.5


def test_status_reports_pids_uptime_nodes_and_log(ansible, robots, stop_after):
    stop_after.append((robots, "talker"))
    start(ansible, robots, "talker", arguments={"prefix": "{{ inventory_hostname }}", "rate": 20})
    results, rc, raw = ansible.launch(robots, "talker", state="status", log_lines=50)
    assert_ok(results, rc, raw, changed=False)
    for robot in robots:
        result = results[robot.name]
        assert result["state"] == "running"
        assert live_pid(result["pid"]) and live_pid(result["supervisor_pid"])
        assert result["uptime"] > 0
        assert result["nodes_up"] == ["/talker"] and result["nodes_missing"] == []
        assert any("process[talker-1]: started with pid" in line for line in result["log_tail"])
        assert result["log_paths"]["output"] == str(launch_dir(robot, "talker") / "output.log")
        assert Path(result["log_paths"]["ros_log_dir"]).is_dir()


def test_start_again_with_the_same_arguments_changes_nothing(ansible, robots, stop_after):
    stop_after.append((robots, "talker"))
    first, rc, raw = start(ansible, robots, "talker", arguments={"prefix": "{{ inventory_hostname }}", "rate": 20})
    assert_ok(first, rc, raw)
    again, rc, raw = start(ansible, robots, "talker", arguments={"prefix": "{{ inventory_hostname }}", "rate": 20})
    assert_ok(again, rc, raw, changed=False)
    for robot in robots:
        assert again[robot.name]["pid"] == first[robot.name]["pid"]
        assert again[robot.name]["nodes_up"] == ["/talker"]


def test_changed_arguments_are_an_error_unless_restarted(ansible, robots, stop_after):
    robot = robots[0]
    stop_after.append(([robot], "rated"))
    first, rc, raw = start(ansible, [robot], "rated", arguments={"rate": 10})
    assert_ok(first, rc, raw, changed=True)
    refused, rc, raw = start(ansible, [robot], "rated", arguments={"rate": 2})
    assert rc != 0
    result = refused[robot.name]
    assert result["failed"] and "state=restarted" in result["msg"]
    assert result["changes"] == ["arguments.rate: '10' -> '2'"]
    assert live_pid(first[robot.name]["pid"]), "the running launch must be left alone"
    assert param(robot, "/talker/rate") == 10

    restarted, rc, raw = start(ansible, [robot], "rated", arguments={"rate": 2}, state="restarted")
    assert_ok(restarted, rc, raw, changed=True)
    assert restarted[robot.name]["pid"] != first[robot.name]["pid"]
    assert not live_pid(first[robot.name]["pid"])
    assert param(robot, "/talker/rate") == 2


def test_check_mode_and_diff_tell_the_truth(ansible, robots, stop_after):
    robot = robots[1]
    stop_after.append(([robot], "checked"))
    results, rc, raw = start(ansible, [robot], "checked", args=("--check", "--diff"))
    assert_ok(results, rc, raw, changed=True)
    result = results[robot.name]
    assert result["diff"]["before"] == {"state": "stopped"}
    assert result["diff"]["after"]["state"] == "running"
    assert result["diff"]["after"]["launch"]["command"] == result["command"]
    assert not state_file(robot, "checked").exists(), "check mode must not start anything"

    start(ansible, [robot], "checked")
    tag = launch_tag(robot, "checked")
    results, rc, raw = ansible.launch([robot], "checked", state="stopped", args=("--check", "--diff"))
    assert_ok(results, rc, raw, changed=True)
    assert results[robot.name]["diff"]["after"] == {"state": "stopped"}
    assert results[robot.name]["state"] == "stopped", "check mode reports the state a stop would leave"
    assert tagged_pids(tag), "check mode must not stop anything"


# --- stopping -----------------------------------------------------------------------------------------


def test_stop_leaves_no_process(ansible, robots):
    started, rc, raw = start(ansible, robots, "short")
    assert_ok(started, rc, raw)
    tags = {robot.name: launch_tag(robot, "short") for robot in robots}
    results, rc, raw = ansible.launch(robots, "short", state="stopped")
    assert_ok(results, rc, raw, changed=True)
    for robot in robots:
        result = results[robot.name]
        assert result["state"] == "stopped" and result["exit_code"] == 0
        assert result["stop_steps"][0].startswith("SIGINT to process group")
        assert tagged_pids(tags[robot.name]) == []
        assert not live_pid(started[robot.name]["supervisor_pid"])
        assert "/talker" not in registered_nodes(robot)
    again, rc, raw = ansible.launch(robots, "short", state="stopped")
    assert_ok(again, rc, raw, changed=False)


def test_a_node_that_ignores_sigint_is_stopped_anyway(ansible, robots):
    robot = robots[2]
    started, rc, raw = ansible.launch(
        [robot], "stubborn", package="roverlab_demo", file="stubborn.launch", stop_timeout=4
    )
    assert_ok(started, rc, raw, changed=True)
    assert sorted(started[robot.name]["nodes_up"]) == ["/stubborn", "/talker"]
    tag = launch_tag(robot, "stubborn")
    stubborn = [p for p in tagged_pids(tag) if "stubborn.py" in Path("/proc/%d/cmdline" % p).read_text()]
    assert len(stubborn) == 1
    results, rc, raw = ansible.launch([robot], "stubborn", state="stopped", stop_timeout=4)
    assert_ok(results, rc, raw, changed=True)
    assert tagged_pids(tag) == []
    assert not live_pid(stubborn[0])
    # roslaunch gave up on the node (its own SIGINT and SIGTERM timeouts) and killed it
    assert "stubborn" in "\n".join((launch_dir(robot, "stubborn") / "output.log").read_text().splitlines()[-40:])


def test_roslaunch_killed_from_outside_leaves_no_orphan(ansible, robots):
    robot = robots[0]
    started, rc, raw = start(ansible, [robot], "crash")
    assert_ok(started, rc, raw)
    tag = launch_tag(robot, "crash")
    launch_pid = started[robot.name]["pid"]
    nodes = [p for p in tagged_pids(tag) if p != launch_pid]
    assert nodes
    os.kill(launch_pid, signal.SIGKILL)
    # the supervisor (child subreaper) inherits the orphaned talker and ends it
    assert wait_for(lambda: not tagged_pids(tag), timeout=15)
    status, rc, raw = ansible.launch([robot], "crash", state="status")
    assert_ok(status, rc, raw, changed=False)
    assert status[robot.name]["state"] == "exited"
    assert status[robot.name]["exit_code"] == -9 and status[robot.name]["exit_signal"] == "SIGKILL"
    stopped, rc, raw = ansible.launch([robot], "crash", state="stopped")
    assert_ok(stopped, rc, raw)
    assert stopped[robot.name]["state"] == "stopped"
    assert not state_file(robot, "crash").exists()


def test_supervisor_and_roslaunch_killed_then_stop_kills_the_orphan_by_tag(ansible, robots):
    robot = robots[1]
    started, rc, raw = start(ansible, [robot], "orphan")
    assert_ok(started, rc, raw)
    tag = launch_tag(robot, "orphan")
    os.kill(started[robot.name]["supervisor_pid"], signal.SIGKILL)
    os.kill(started[robot.name]["pid"], signal.SIGKILL)
    time.sleep(0.5)
    orphans = tagged_pids(tag)
    assert orphans, "the talker must have survived both (that is the case being tested)"
    status, rc, raw = ansible.launch([robot], "orphan", state="status")
    assert status[robot.name]["state"] == "exited"
    stopped, rc, raw = ansible.launch([robot], "orphan", state="stopped")
    assert_ok(stopped, rc, raw, changed=True)
    assert stopped[robot.name]["previous"]["killed"] == orphans
    assert tagged_pids(tag) == []


def test_a_full_disk_neither_blocks_a_stop_nor_leaves_a_launch_behind(ansible, robots, lab_dir):
    """The state directory on a 512 KiB tmpfs that fills up while the launch runs (its logs, a rosbag...).

    The robot's sshd runs in a mount namespace of its own (ip netns exec makes one), which need not see mounts
    made out here: the tmpfs is mounted in the robot's namespace and read through /proc/<sshd>/root.
    """
    robot = robots[1]
    account = pwd.getpwnam(robot.name)
    small = lab_dir / "small-disk"
    small.mkdir()
    in_robot = ["nsenter", "--target", str(robot.sshd_pid), "--mount", "--"]
    options = "size=512k,mode=0700,uid=%d,gid=%d" % (account.pw_uid, account.pw_gid)
    subprocess.run([*in_robot, "mount", "-t", "tmpfs", "-o", options, "roverlab-small-disk", str(small)], check=True)
    seen = Path("/proc/%d/root" % robot.sshd_pid) / small.relative_to("/")
    tag = None
    try:
        extra = {"ros_launch_name": "full", "ros_launch_package": "roverlab_demo", "ros_launch_file": "talker.launch"}
        extra["ros_robot_state_dir"] = str(small)
        rc, output, raw = ansible.playbook(LAUNCH_PLAYBOOK, extra, limit=[robot.name])
        assert rc == 0, raw[-3000:]
        record = seen / "launches" / "full" / "launch.json"
        tag = json.loads(record.read_text())["tag"]
        subprocess.run(["dd", "if=/dev/zero", "of=%s" % (seen / "filler"), "bs=64k"], capture_output=True, check=False)
        assert os.statvfs(seen).f_bavail == 0

        rc, output, raw = ansible.playbook(LAUNCH_PLAYBOOK, dict(extra, ros_launch_state="stopped"), limit=[robot.name])
        assert rc == 0, raw[-3000:]
        stopped = ansible.task_results(output, "Apply the launch state")[robot.name]
        assert stopped["changed"] is True and stopped["state"] == "stopped"
        assert tagged_pids(tag) == []
        assert not record.exists()

        # a start on the full disk fails before anything runs, with the reason, and leaves no half-written file
        rc, output, raw = ansible.playbook(LAUNCH_PLAYBOOK, extra, limit=[robot.name])
        assert rc != 0
        failed = ansible.task_results(output, "Apply the launch state")[robot.name]
        assert "No space left on device" in failed["msg"], failed
        assert not list(seen.rglob("*.tmp*"))
        assert not record.exists()
    finally:
        if tag:
            for pid in tagged_pids(tag):
                os.kill(pid, signal.SIGKILL)
        subprocess.run([*in_robot, "umount", "--lazy", str(small)], check=False)
        small.rmdir()


def test_restart_policy_on_failure_brings_the_launch_back(ansible, robots):
    robot = robots[2]
    started, rc, raw = start(ansible, [robot], "phoenix", restart_policy="on-failure")
    assert_ok(started, rc, raw)
    os.kill(started[robot.name]["pid"], signal.SIGKILL)

    def restarted():
        results, _rc, _raw = ansible.launch([robot], "phoenix", state="status")
        result = results[robot.name]
        return result if result["state"] == "running" and result["restarts"] == 1 and result["nodes_up"] else None

    result = wait_for(restarted, timeout=30, interval=0.5)
    assert result, "the supervisor did not restart the launch"
    assert result["pid"] != started[robot.name]["pid"]
    tag = launch_tag(robot, "phoenix")
    stopped, rc, raw = ansible.launch([robot], "phoenix", state="stopped")
    assert_ok(stopped, rc, raw, changed=True)
    time.sleep(3)  # longer than the restart delay: a stop is not a failure to recover from
    assert tagged_pids(tag) == []


def test_concurrent_starts_of_one_launch_start_it_once(ansible, robots):
    robot = robots[0]
    extra = {"ros_launch_name": "race", "ros_launch_package": "roverlab_demo", "ros_launch_file": "talker.launch"}
    vars_file = ansible.base / "race.json"
    vars_file.write_text(json.dumps(extra))
    procs = [
        subprocess.Popen(
            [
                "ansible-playbook",
                *("-i", str(ansible.inventories["launch"]), "playbooks/ros_launch.yml"),
                *("-e", "@%s" % vars_file, "--limit", robot.name),
            ],
            cwd=str(Path(__file__).resolve().parents[3]),
            env=ansible.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _attempt in range(2)
    ]
    outputs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    changed = [ansible.task_results(o, "Apply the launch state")[robot.name]["changed"] for o in outputs]
    assert sorted(changed) == [False, True]
    tag = launch_tag(robot, "race")
    launches = [p for p in tagged_pids(tag) if "roslaunch" in Path("/proc/%d/cmdline" % p).read_text()]
    assert len(launches) == 1
    ansible.launch([robot], "race", state="stopped")


# --- stale state -------------------------------------------------------------------------------------


def unrelated_process(robot):
    """A process of the launch account itself that has nothing to do with any launch (it could be killed)."""
    proc = subprocess.Popen(["runuser", "-u", robot.name, "--", "sleep", "300"], start_new_session=True)
    sleeper = wait_for(
        lambda: [
            int(p)
            for p in subprocess.run(
                ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True, check=False
            ).stdout.split()
        ],
        timeout=5,
    )
    pid = sleeper[0] if sleeper else proc.pid
    with open("/proc/%d/stat" % pid) as stat:
        starttime = int(stat.read().rsplit(")", 1)[1].split()[19])
    return proc, pid, starttime


def plant_state(robot, name, boot_id, pid, starttime):
    state_dir = Path(robot.path("state"))
    record = {
        "version": 2,
        "name": name,
        "tag": "0" * 32,
        "boot_id": boot_id,
        "ros_version": 1,
        "argv": ["roslaunch", "roverlab_demo", "talker.launch"],
        "spec": {},
        "master_uri": robot.master_uri,
        "expected_nodes": ["/talker"],
        "launch": {"pid": pid, "starttime": starttime, "started_at": time.time()},
        "supervisor": {"pid": pid, "starttime": starttime},
        "stop_requested": False,
    }
    directory = state_dir / "launches" / name
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / "launch.json"
    path.write_text(json.dumps(record))
    subprocess.run(["chown", "-R", robot.name, str(state_dir / "launches")], check=True)


def test_state_from_another_boot_is_recognised_and_cleaned(ansible, robots):
    robot = robots[1]
    proc, pid, starttime = unrelated_process(robot)
    try:
        # worst case: after a reboot the same PID with the same start time belongs to something else
        plant_state(robot, "ghost", "00000000-0000-0000-0000-000000000000", pid, starttime)
        status, rc, raw = ansible.launch([robot], "ghost", state="status")
        assert_ok(status, rc, raw, changed=False)
        assert status[robot.name]["state"] == "stale"
        started, rc, raw = start(ansible, [robot], "ghost")
        assert_ok(started, rc, raw, changed=True)
        assert started[robot.name]["previous"]["phase"] == "stale"
        assert started[robot.name]["state"] == "running"
        assert live_pid(pid), "a process from 'another boot' must never be signalled"
        stopped, rc, raw = ansible.launch([robot], "ghost", state="stopped")
        assert_ok(stopped, rc, raw, changed=True)
        assert live_pid(pid)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_a_reused_pid_is_never_killed(ansible, robots):
    robot = robots[2]
    proc, pid, starttime = unrelated_process(robot)
    try:
        with open("/proc/sys/kernel/random/boot_id") as boot:
            boot_id = boot.read().strip()
        # this boot, the PID is alive, but it started later than the recorded process: a reuse
        plant_state(robot, "reused", boot_id, pid, starttime - 100)
        status, rc, raw = ansible.launch([robot], "reused", state="status")
        assert_ok(status, rc, raw)
        assert status[robot.name]["state"] == "exited"
        assert status[robot.name]["pid"] is None
        stopped, rc, raw = ansible.launch([robot], "reused", state="stopped")
        assert_ok(stopped, rc, raw, changed=False)
        assert live_pid(pid)
        assert not state_file(robot, "reused").exists()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- security ----------------------------------------------------------------------------------------


def test_the_allowlist_refuses_what_it_does_not_name(ansible, robots, lab_dir):
    robot = robots[0]
    results, rc, _raw = ansible.launch([robot], "forbidden", package="roverlab_demo", file="not_allowed.launch")
    assert rc != 0
    assert "does not allow package roverlab_demo, launch file not_allowed.launch" in results[robot.name]["msg"]
    assert not state_file(robot, "forbidden").exists()
    assert "/forbidden_talker" not in registered_nodes(robot)

    # a variable that decides which code runs would make an allowed package name point anywhere
    results, rc, _raw = start(ansible, [robot], "forbidden", env={"ROS_PACKAGE_PATH": str(lab_dir)})
    assert rc != 0 and "ROS_PACKAGE_PATH decides which code runs" in results[robot.name]["msg"]

    # OpenSSL's configuration loads engines and providers: code, although no deny-list had it
    results, rc, _raw = start(ansible, [robot], "forbidden", env={"OPENSSL_CONF": str(lab_dir / "evil.cnf")})
    assert rc != 0 and "OPENSSL_CONF decides which code runs" in results[robot.name]["msg"]

    # an allowlist the launch account could change counts as none
    allowlist = Path(robot.etc_path("ros_launch", "allowlist.json"))
    allowlist.chmod(0o666)
    try:
        results, rc, _raw = start(ansible, [robot], "forbidden")
    finally:
        allowlist.chmod(0o644)
    assert rc != 0 and "must not be writable by group or others" in results[robot.name]["msg"]
    assert not state_file(robot, "forbidden").exists()


HOSTILE_BUT_CARRIED = (
    'it\'s "quoted"; touch {canary} && echo pwned | tee {canary} `touch {canary}` $HOME ${{IFS}} * ~ \\ %s ünï'
)


def test_hostile_argument_values_reach_the_node_literally_or_are_refused(ansible, robots, lab_dir):
    robot = robots[1]
    canary = lab_dir / "canary"
    value = HOSTILE_BUT_CARRIED.format(canary=canary)
    results, rc, raw = start(ansible, [robot], "hostile", arguments={"prefix": value})
    try:
        assert_ok(results, rc, raw, changed=True)
        assert param(robot, "/talker/prefix") == value
        assert "data: " in echo_once(robot)  # the talker runs and publishes with that prefix
        assert not canary.exists()
    finally:
        ansible.launch([robot], "hostile", state="stopped")

    # values roslaunch itself would drop, rewrite or interpret: refused before anything runs
    for bad, why in (
        ("one\ntwo", "line break"),
        ("$(touch %s)" % canary, "substitution arg"),
        ("a:=b", "':='"),
        (" padded", "strips blanks"),
    ):
        results, rc, raw = start(ansible, [robot], "refused", arguments={"prefix": bad})
        assert rc != 0, bad
        assert "argument prefix" in results[robot.name]["msg"] and why in results[robot.name]["msg"], results
        assert not state_file(robot, "refused").exists()
    # a name roslaunch drops (`_name:=`, a node's private parameter) or takes for itself (`__master:=`)
    for name in ("_prefix", "__master"):
        results, rc, raw = start(ansible, [robot], "refused", arguments={name: "http://%s:1/" % robot.address})
        assert rc != 0 and "argument %s: roslaunch" % name in results[robot.name]["msg"], results
        assert not state_file(robot, "refused").exists()
    assert not canary.exists()


def test_secret_env_values_appear_nowhere_but_in_the_launch(ansible, robots):
    robot = robots[2]
    secret = "s3cr3t-token-%d" % os.getpid()
    extra = {
        "ros_launch_name": "secret",
        "ros_launch_package": "roverlab_demo",
        "ros_launch_file": "talker.launch",
    }
    playbook = ansible.base / "secret.yml"
    playbook.write_text(
        "- name: Start with a secret\n  hosts: robots\n  gather_facts: false\n  tasks:\n"
        "    - name: Apply the launch state\n      roverlab.clouddesktop.ros_launch:\n"
        "        name: secret\n        package: roverlab_demo\n        launch_file: talker.launch\n"
        "        setup_files: ['{{ ros_robot_env_file }}']\n        state_dir: '{{ ros_robot_state_dir }}'\n"
        "        secret_env: {ROBOT_TOKEN: '%s'}\n" % secret
    )
    rc, _output, raw = ansible.playbook(playbook, extra, limit=[robot.name], args=("-vvv",))
    try:
        assert rc == 0, raw[-3000:]
        assert secret not in raw
        state_dir = Path(robot.path("state"))
        for path in state_dir.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
        tag = launch_tag(robot, "secret")
        talker = [p for p in tagged_pids(tag) if "talker.py" in Path("/proc/%d/cmdline" % p).read_text()]
        assert ("ROBOT_TOKEN=%s" % secret).encode() in Path("/proc/%d/environ" % talker[0]).read_bytes()
        # records and logs only for the launch account (what roslaunch and the nodes write in ros_log/ has their
        # own modes, inside ros_log's 0700); the digest's key is not in the state directory
        for path in [state_dir, *state_dir.rglob("*")]:
            if "ros_log" not in path.relative_to(state_dir).parts[:-1]:
                assert path.stat().st_mode & 0o077 == 0, "%s is mode %o" % (path, path.stat().st_mode & 0o777)
        record = json.loads(state_file(robot, "secret").read_text())
        assert "salt" not in record and record["spec"]["secret_digest"]
        key = Path(robot.path("home", ".roverlab_ros_launch.key"))
        assert key.stat().st_mode & 0o777 == 0o600 and key.read_text().strip() not in json.dumps(record)
    finally:
        ansible.launch([robot], "secret", state="stopped")


def test_a_robot_clock_off_by_more_than_max_clock_skew_is_refused(ansible, skewed_robot):
    results, rc, _raw = start(ansible, [skewed_robot], "skewed", max_clock_skew=1.0)
    assert rc != 0
    result = results[skewed_robot.name]
    assert "clock is off by +4" in result["msg"]
    assert 40 < result["clock_skew"]["offset"] < 50
    assert not state_file(skewed_robot, "skewed").exists()


def test_ssh_host_keys_are_verified(ansible, robots, lab_dir):
    robot = robots[0]
    other_key = Path(robots[1].path("ssh_host_ed25519_key.pub")).read_text().split()[:2]
    known_hosts = lab_dir / "wrong_known_hosts"
    known_hosts.write_text("%s %s\n" % (robot.address, " ".join(other_key)))
    inventory = json.loads(ansible.inventories["launch"].read_text())
    host = inventory["robots"]["hosts"][robot.name]
    host["ansible_ssh_common_args"] = host["ansible_ssh_common_args"].replace(ansible.lab.known_hosts, str(known_hosts))
    host["ansible_ssh_common_args"] += " -o ControlPath=none"
    wrong = lab_dir / "inventory-wrong-key.json"
    wrong.write_text(json.dumps(inventory))
    rc, _output, raw = ansible.playbook(
        Path(__file__).resolve().parents[3] / "playbooks" / "ros_launch.yml",
        {"ros_launch_name": "x", "ros_launch_state": "status"},
        inventory=wrong,
        limit=[robot.name],
    )
    assert rc != 0
    assert "Host key verification failed" in raw or "REMOTE HOST IDENTIFICATION HAS CHANGED" in raw


def test_lab_layout_login_as_root_and_su_to_the_launch_account(ansible, robots):
    robot = robots[0]
    results, rc, raw = start(ansible, [robot], "via_su", login="root")
    try:
        assert_ok(results, rc, raw, changed=True)
        tag = launch_tag(robot, "via_su")
        owners = {os.stat("/proc/%d" % p).st_uid for p in tagged_pids(tag)}
        assert owners == {pwd.getpwnam(robot.name).pw_uid}
    finally:
        results, rc, raw = ansible.launch([robot], "via_su", login="root", state="stopped")
    assert_ok(results, rc, raw, changed=True)


def test_a_play_environment_runs_nothing_and_values_arrive_byte_for_byte(ansible, robots):
    """`environment:` on a play reaches the module's own environment: none of it may run as shell code, and
    arguments with $HOME or ~ reach both the launch and its readiness query (roslaunch --nodes) as written."""
    robot = robots[0]
    canary = Path(robot.path("home")) / "pwned-by-environment"  # where the launch account may write
    value = "$HOME ~ ~root ${f} $f `touch %s`" % canary
    playbook = ansible.base / "environment.yml"
    playbook.write_text(
        "- name: Start with a hostile play environment\n  hosts: robots\n  gather_facts: false\n"
        "  environment:\n"
        "    f: '\"; touch %s; : \"'\n"
        "    ROS_PACKAGE_PATH: $(touch %s)\n"
        "  tasks:\n"
        "    - name: Apply the launch state\n      roverlab.clouddesktop.ros_launch:\n"
        "        name: environment\n        package: roverlab_demo\n        launch_file: talker.launch\n"
        "        setup_files: ['{{ ros_robot_env_file }}']\n        state_dir: '{{ ros_robot_state_dir }}'\n"
        "        arguments: {prefix: '%s'}\n" % (canary, canary, value.replace("'", "''"))
    )
    rc, output, raw = ansible.playbook(playbook, limit=[robot.name])
    try:
        assert not canary.exists(), "a value of the play's environment ran as shell code"
        assert rc == 0, raw[-3000:]
        result = ansible.task_results(output, "Apply the launch state")[robot.name]
        # no wait_for: the nodes come from roslaunch --nodes, which must see the launch file as the launch does
        assert result["nodes"] == ["/talker"] and result["nodes_up"] == ["/talker"], result
        assert param(robot, "/talker/prefix") == value
        assert "prefix:=%s" % value in result["command"]
    finally:
        ansible.launch([robot], "environment", state="stopped")
    assert not canary.exists()


def test_launches_whose_names_extend_each_other_keep_apart(ansible, robots):
    robot = robots[1]
    # two launches with different nodes (one master: a second /talker would end the first)
    first, rc, raw = ansible.launch([robot], "chat.run", package="roverlab_demo", file="bench.launch")
    assert_ok(first, rc, raw, changed=True)
    tag = launch_tag(robot, "chat.run")
    try:
        second, rc, raw = start(ansible, [robot], "chat", arguments={"rate": 20})
        assert_ok(second, rc, raw, changed=True)
        stopped, rc, raw = ansible.launch([robot], "chat", state="stopped")
        assert_ok(stopped, rc, raw, changed=True)
        status, rc, raw = ansible.launch([robot], "chat.run", state="status")
        assert_ok(status, rc, raw, changed=False)
        assert status[robot.name]["state"] == "running" and status[robot.name]["pid"] == first[robot.name]["pid"]
    finally:
        results, rc, raw = ansible.launch([robot], "chat.run", state="stopped")
    assert_ok(results, rc, raw, changed=True)
    assert tagged_pids(tag) == []
    assert not live_pid(first[robot.name]["pid"])


def test_each_robot_decides_with_its_own_allowlist_at_the_fixed_path(ansible, robots, lab_dir):
    allowing, refusing = robots[1], robots[2]
    allowlist = Path(refusing.etc_path("ros_launch", "allowlist.json"))
    original = allowlist.read_text()
    document = json.loads(original)
    document["launches"] = [e for e in document["launches"] if e.get("launch_file") != "talker.launch"]
    allowlist.write_text(json.dumps(document))
    try:
        results, rc, _raw = start(ansible, [allowing, refusing], "own_allowlist")
        assert rc != 0
        assert results[allowing.name]["state"] == "running", results[allowing.name]
        assert "does not allow package roverlab_demo, launch file talker.launch" in results[refusing.name]["msg"]
        assert "/etc/roverlab/ros_launch/allowlist.json" in results[refusing.name]["msg"]
    finally:
        allowlist.write_text(original)
        ansible.launch([allowing], "own_allowlist", state="stopped")

    # a task cannot bring its own allowlist, however permissive
    own = lab_dir / "own-allowlist.json"
    own.write_text(json.dumps({"launches": [{"package": "*", "launch_file": "*"}]}))
    playbook = ansible.base / "own-allowlist.yml"
    playbook.write_text(
        "- name: Bring an allowlist\n  hosts: robots\n  gather_facts: false\n  tasks:\n"
        "    - name: Apply the launch state\n      roverlab.clouddesktop.ros_launch:\n"
        "        name: own\n        package: roverlab_demo\n        launch_file: not_allowed.launch\n"
        "        setup_files: ['{{ ros_robot_env_file }}']\n        state_dir: '{{ ros_robot_state_dir }}'\n"
        "        allowlist: %s\n" % own
    )
    rc, output, _raw = ansible.playbook(playbook, limit=[allowing.name])
    assert rc != 0
    assert (
        "allowlist is no longer an option"
        in ansible.task_results(output, "Apply the launch state")[allowing.name]["msg"]
    )
    assert not state_file(allowing, "own").exists()

    # nor can the inventory move it: the role refuses the variable that did
    prepare = ansible.base / "prepare-moved.yml"
    prepare.write_text(
        "- name: Prepare\n  hosts: robots\n  gather_facts: false\n"
        "  roles:\n    - role: roverlab.clouddesktop.ros_robot\n"
    )
    rc, _output, raw = ansible.playbook(
        prepare, {"ros_robot_allowlist_path": str(own)}, login="root", limit=[allowing.name]
    )
    assert rc != 0 and "ros_robot_allowlist_path is no longer a variable" in raw


def test_the_first_launch_on_a_freshly_prepared_robot_prints_no_warning(ansible, robots, lab_dir):
    """The lab's path: log in as root, su to the launch account, whose home root's cwd is not in. A module that
    must make the account's remote_tmp itself warns about it: ros_robot makes it beforehand."""
    robot = robots[2]
    shutil.rmtree(robot.path("home", ".ansible"), ignore_errors=True)  # as on a robot that never ran a module
    prepare = lab_dir / "prepare-again.yml"
    prepare.write_text(
        "- name: Prepare\n  hosts: robots\n  gather_facts: false\n"
        "  roles:\n    - role: roverlab.clouddesktop.ros_robot\n"
    )
    rc, _output, raw = ansible.playbook(prepare, login="root", limit=[robot.name])
    assert rc == 0, raw[-3000:]
    results, rc, raw = start(ansible, [robot], "first", login="root", max_clock_skew=5)
    try:
        assert_ok(results, rc, raw, changed=True)
        assert "remote_tmp" not in raw and "[WARNING]" not in raw, raw[-3000:]
        assert not results[robot.name].get("warnings"), results[robot.name]["warnings"]
    finally:
        ansible.launch([robot], "first", login="root", state="stopped")
