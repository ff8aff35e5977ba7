"""Fixtures for the ros_launch integration tests: real ROS 1 robots in network namespaces.

STAND-IN: each robot is a network namespace with its own address, sshd and roscore (scripts/lablib), not a
machine. The robots share this host's filesystem, accounts and PID namespace, so each gets its own launch
account, state directory and allowlist through inventory variables. ROS (Debian's ROS 1 packages), SSH,
Ansible, the module and the supervisor are the real thing.

Everything runs as root (namespaces, sshd on port 22). Names and subnets come from this process's PID, so two
runs and the local lab (10.201.x) can coexist. The session fixture removes all it made, also on failure:
every process inside the namespaces (sshd, roscore, launches), the namespaces, the accounts, the files.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "scripts"))

from lablib import RobotLab, free_subnet_base  # noqa: E402  (scripts/ is not a package on sys.path)

ROBOT_COUNT = 3
SKEWED_ROBOT = 4  # a fourth robot whose clock is 45 s ahead (libfaketime in its SSH sessions)
SKEW_SECONDS = 45
LAUNCH_PLAYBOOK = REPO / "playbooks" / "ros_launch.yml"
TAG_NAME = "ROVERLAB_LAUNCH_ID"


def require_root_and_ros1():
    if os.geteuid() != 0:
        pytest.fail("the ROS 1 robot tests need root: they create network namespaces and sshd instances")
    for tool in ("roslaunch", "roscore", "rostopic", "ip", "/usr/sbin/sshd"):
        if not shutil.which(tool):
            pytest.fail("the ROS 1 robot tests need %s (scripts/setup.sh installs it)" % tool)


class Ansible:
    """Runs ansible-playbook against the lab and returns per-host results of one task (JSON callback)."""

    def __init__(self, lab, base):
        self.lab = lab
        self.base = base
        self.inventories = {}
        for login in ("root", "launch"):
            path = base / ("inventory-%s.json" % login)
            path.write_text(json.dumps(lab.inventory(login), indent=1))
            self.inventories[login] = path
        self.env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(base / "cp"),
            ANSIBLE_LOCAL_TEMP=str(base / "ansible-local"),
            ANSIBLE_NOCOLOR="1",
        )
        self.runs = 0

    def playbook(self, playbook, extra_vars=None, login="launch", limit=None, args=(), inventory=None):
        """(rc, parsed JSON output, raw stdout) of one ansible-playbook run."""
        self.runs += 1
        cmd = ["ansible-playbook", "-i", str(inventory or self.inventories[login]), str(playbook), *args]
        if extra_vars is not None:
            vars_file = self.base / ("vars-%d.json" % self.runs)
            vars_file.write_text(json.dumps(extra_vars))
            cmd += ["-e", "@%s" % vars_file]
        if limit:
            cmd += ["--limit", ",".join(limit)]
        proc = subprocess.run(cmd, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300, check=False)
        try:
            output = json.loads(proc.stdout)
        except ValueError:
            output = None
        return proc.returncode, output, proc.stdout + proc.stderr

    @staticmethod
    def task_results(output, task_name):
        for play in output["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"] == task_name:
                    return task["hosts"]
        raise AssertionError("task %r not in the output" % task_name)

    def launch(self, robots, name, login="launch", args=(), **variables):
        """Run playbooks/ros_launch.yml on ROBOTS; returns ({host: module result}, rc, raw output)."""
        extra = {"ros_launch_name": name}
        extra.update({"ros_launch_%s" % key: value for key, value in variables.items()})
        rc, output, raw = self.playbook(LAUNCH_PLAYBOOK, extra, login=login, limit=[r.name for r in robots], args=args)
        assert output is not None, raw
        return self.task_results(output, "Apply the launch state"), rc, raw


@pytest.fixture(scope="session")
def lab_dir():
    base = Path("/tmp/roverlab-rostest-%d" % os.getpid())
    base.mkdir(mode=0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def lab(lab_dir):
    """Robots 1-3 plus a robot with a skewed clock, prepared with the ros_robot role."""
    require_root_and_ros1()
    prefix = "rlt%d" % os.getpid()
    base = free_subnet_base(202 + os.getpid() % 50, avoid={201})
    robots_lab = RobotLab(str(lab_dir / "lab"), prefix=prefix, subnet_base=base)
    try:
        robots_lab.create(SKEWED_ROBOT, clock_offsets={SKEWED_ROBOT: SKEW_SECONDS})
        yield robots_lab
    finally:
        robots_lab.destroy()


@pytest.fixture(scope="session")
def ansible(lab, lab_dir):
    runner = Ansible(lab, lab_dir)
    prepare = lab_dir / "prepare.yml"
    prepare.write_text(
        "- name: Prepare the robots\n  hosts: robots\n  gather_facts: false\n"
        "  roles:\n    - role: roverlab.clouddesktop.ros_robot\n"
    )
    rc, _output, raw = runner.playbook(prepare, login="root")
    assert rc == 0, raw[-3000:]
    return runner


@pytest.fixture(scope="session")
def robots(lab, ansible):
    """The three ordinary robots (prepared)."""
    return lab.robots[:ROBOT_COUNT]


@pytest.fixture(scope="session")
def skewed_robot(lab, ansible):
    return lab.robots[SKEWED_ROBOT - 1]


# --- direct checks on the robots (not through Ansible) ----------------------------------------------


def master(robot):
    return xmlrpc.client.ServerProxy(robot.master_uri)


def registered_nodes(robot):
    _code, _msg, state = master(robot).getSystemState("/pytest")
    return {node for section in state for _topic, nodes in section for node in nodes}


def param(robot, name):
    code, msg, value = master(robot).getParam("/pytest", name)
    assert code == 1, msg
    return value


def echo_once(robot, topic="/chatter", timeout=15):
    """One message from TOPIC on ROBOT's master, received in the host's namespace with rostopic."""
    env = dict(
        os.environ,
        ROS_MASTER_URI=robot.master_uri,
        ROS_IP=robot.host_address,
        ROS_HOME=str(Path(robot.directory) / "echo"),
    )
    proc = subprocess.run(
        ["rostopic", "echo", "-n", "1", "--noarr", topic],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def launch_dir(robot, name):
    """The launch's own directory in the robot's state directory (state_dir/launches/NAME)."""
    return Path(robot.path("state")) / "launches" / name


def state_file(robot, name):
    return launch_dir(robot, name) / "launch.json"


def launch_tag(robot, name):
    return json.loads(state_file(robot, name).read_text())["tag"]


def live_pid(pid):
    """True when PID runs and is not a zombie (this host's PID 1 does not reap orphans)."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def tagged_pids(tag):
    """Live processes whose environment carries the launch's tag (a /proc scan, as root)."""
    needle = ("%s=%s" % (TAG_NAME, tag)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as environ:
                if needle in environ.read().split(b"\0") and live_pid(int(entry)):
                    found.append(int(entry))
        except OSError:
            continue
    return sorted(found)


def wait_for(predicate, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.fixture
def stop_after(ansible):
    """Names of launches to stop (on all robots) after the test, whatever happened in it."""
    started = []
    yield started
    for robots_, name in started:
        ansible.launch(robots_, name, state="stopped")
