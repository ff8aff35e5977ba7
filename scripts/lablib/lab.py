"""RobotLab: create, describe and remove a set of stand-in robots (see the package docstring)."""

import hashlib
import ipaddress
import json
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field

from . import netns, procs, roscore, sshd

HERE = os.path.dirname(os.path.abspath(__file__))
# The demo ROS package the robots can launch (talker, a node that ignores SIGINT, ...)
DEMO_WORKSPACE = os.path.join(HERE, "ros_ws", "src")
# What the stand-in robots allow: the demo launches (bench.launch is the benchmark's), not not_allowed.launch
DEMO_ALLOWLIST = [
    {"package": "roverlab_demo", "launch_file": "talker.launch"},
    {"package": "roverlab_demo", "launch_file": "stubborn.launch"},
    {"package": "roverlab_demo", "launch_file": "bench.launch"},
]
# Variables a task may set through ros_launch's env on the stand-in robots (the tests' token, for example)
DEMO_ENV_NAMES = ["ROBOT_*"]


@dataclass
class Robot:
    name: str  # inventory name, network namespace and launch account
    index: int
    address: str  # the robot's address (inside its namespace)
    host_address: str  # the host's end of the veth pair
    host_if: str
    directory: str
    sshd_pid: int = 0
    sshd_started: int = 0
    roscore_pid: int = 0
    roscore_started: int = 0
    clock_offset: int = 0
    account_existed: bool = False  # an account of this name was there before: never remove it
    host_key: str = ""

    @property
    def master_uri(self):
        return roscore.master_uri(self.address)

    def path(self, *parts):
        return os.path.join(self.directory, *parts)

    def etc_path(self, *parts):
        """A path in the robot's own /etc/roverlab, seen from the host (netns.private_etc)."""
        return os.path.join(netns.private_etc(self.name), *parts)


@dataclass
class RobotLab:
    """Robots named PREFIX-robotN with addresses SUBNET_BASE.N.2/24, files under BASE_DIR."""

    base_dir: str
    prefix: str = "roverlab"
    subnet_base: str = "10.201"
    robots: list = field(default_factory=list)

    def __post_init__(self):
        self.base_dir = os.path.abspath(self.base_dir)

    # --- files ---------------------------------------------------------------------------------
    @property
    def record_file(self):
        return os.path.join(self.base_dir, "lab.json")

    @property
    def ssh_dir(self):
        return os.path.join(self.base_dir, "ssh")

    @property
    def controller_key(self):
        return os.path.join(self.ssh_dir, "id_ed25519")

    @property
    def authorized_keys(self):
        return os.path.join(self.base_dir, "sshd", "authorized_keys")

    @property
    def known_hosts(self):
        return os.path.join(self.ssh_dir, "known_hosts")

    def save(self):
        tmp = self.record_file + ".tmp"
        with open(tmp, "w") as record:
            json.dump(
                {"prefix": self.prefix, "subnet_base": self.subnet_base, "robots": [asdict(r) for r in self.robots]},
                record,
                indent=1,
            )
        os.replace(tmp, self.record_file)

    @classmethod
    def load(cls, base_dir):
        """The lab recorded in BASE_DIR/lab.json, or an empty one when there is none."""
        lab = cls(base_dir)
        try:
            with open(lab.record_file) as record:
                data = json.load(record)
        except FileNotFoundError:
            return lab
        lab.prefix, lab.subnet_base = data["prefix"], data["subnet_base"]
        lab.robots = [Robot(**r) for r in data["robots"]]
        return lab

    # --- naming ----------------------------------------------------------------------------------
    def robot_name(self, index):
        return "%s-robot%d" % (self.prefix, index)

    def host_interface(self, index):
        # interface names are limited to 15 characters: a digest of the prefix keeps them unique per lab
        return "v%sr%d" % (hashlib.sha1(self.prefix.encode()).hexdigest()[:6], index)  # noqa: S324 (a name, not security)

    # --- lifecycle -------------------------------------------------------------------------------
    def create(self, count, clock_offsets=None):
        """Create robots 1..COUNT (idempotent: running robots are kept). CLOCK_OFFSETS: {index: seconds}."""
        if os.geteuid() != 0:
            raise PermissionError("lablib needs root (network namespaces, sshd on port 22)")
        clock_offsets = clock_offsets or {}
        for directory in (self.base_dir, self.ssh_dir):
            os.makedirs(directory, exist_ok=True)
        # launch accounts must be able to reach their robot's files under base_dir
        os.chmod(self.base_dir, 0o755)  # noqa: S103 - launch accounts read their robot's files
        allow_traversal(os.path.dirname(self.base_dir))
        os.chmod(self.ssh_dir, 0o700)
        sshd.keygen(self.controller_key, "%s-controller" % self.prefix)
        # sshd reads authorized_keys as the user who logs in: it must not sit in the private ssh directory
        os.makedirs(os.path.dirname(self.authorized_keys), mode=0o755, exist_ok=True)
        with open(self.controller_key + ".pub") as pub, open(self.authorized_keys, "w") as auth:
            auth.write(pub.read())
        os.chmod(self.authorized_keys, 0o644)
        known = {r.name: r for r in self.robots}
        try:
            for index in range(1, count + 1):
                name = self.robot_name(index)
                if name not in known and netns.exists(name):
                    self._clear_leftover_namespace(index)
                robot = known.get(name) or self._new_robot(index, clock_offsets.get(index, 0))
                if robot.name not in known:
                    self.robots.append(robot)
                self._bring_up(robot)
                self.save()
        finally:
            self.save()
            self._write_known_hosts()
        return self.robots

    def _clear_leftover_namespace(self, index):
        """Remove an empty namespace of this robot's name; refuse one that something still runs in.

        Network namespaces outlive their processes: a machine session that ended with a lab up leaves empty ones
        behind (their sshd and roscore are gone), and a later checkout's lab must not trip over them. A namespace
        with live processes is another lab's, and is left alone.
        """
        name = self.robot_name(index)
        inside = procs.namespace_pids(name)
        if inside:
            raise RuntimeError(
                "a network namespace %s exists that this lab (%s) did not make, with processes %s in it: another "
                "checkout's lab. Take that lab down first (scripts/lab.sh down in its checkout)."
                % (name, self.base_dir, " ".join(str(p) for p in inside))
            )
        print("lablib: removing the empty network namespace %s left by an earlier lab" % name, file=sys.stderr)
        netns.delete(name, self.host_interface(index))
        netns.remove_private_etc(name)

    def _new_robot(self, index, clock_offset):
        net = ipaddress.ip_network("%s.%d.0/24" % (self.subnet_base, index))
        name = self.robot_name(index)
        try:
            pwd.getpwnam(name)
            existed = True
        except KeyError:
            existed = False
        return Robot(
            name=name,
            index=index,
            address=str(net.network_address + 2),
            host_address=str(net.network_address + 1),
            host_if=self.host_interface(index),
            directory=os.path.join(self.base_dir, "robots", name),
            clock_offset=clock_offset,
            account_existed=existed,
        )

    def _bring_up(self, robot):
        os.makedirs(robot.path("etc"), exist_ok=True)
        for directory in (os.path.dirname(robot.directory), robot.directory):
            os.chmod(directory, 0o755)  # noqa: S103 - the launch account must reach its home and etc/
        if not netns.exists(robot.name):
            netns.delete(robot.name, robot.host_if)  # a half-made earlier attempt
            netns.create(robot.name, robot.host_if, robot.host_address, robot.address)
        netns.prepare_private_etc(robot.name)
        robot.host_key = sshd.keygen(robot.path("ssh_host_ed25519_key"), robot.name)
        if procs.is_running(robot.sshd_pid, robot.sshd_started) and not netns.sees_private_etc(
            robot.sshd_pid, robot.name
        ):
            # an sshd of an earlier lablib, started without the robot's own /etc/roverlab: start it again
            old_sshd = (robot.sshd_pid, robot.sshd_started)
            procs.end_processes(lambda: [old_sshd[0]] if procs.is_running(*old_sshd) else [])
        if not procs.is_running(robot.sshd_pid, robot.sshd_started):
            sshd.write_config(
                robot.path("sshd_config"),
                robot.address,
                robot.path("ssh_host_ed25519_key"),
                robot.path("sshd.pid"),
                self.authorized_keys,
                clock_offset=robot.clock_offset,
            )
            robot.sshd_pid = sshd.start(
                robot.name, robot.path("sshd_config"), robot.path("sshd.log"), robot.path("sshd.pid")
            )
            robot.sshd_started = procs.start_time(robot.sshd_pid)
        if not procs.is_running(robot.roscore_pid, robot.roscore_started):
            robot.roscore_pid = roscore.start(
                robot.name, robot.address, robot.path("roscore"), robot.path("roscore.log")
            )
            robot.roscore_started = procs.start_time(robot.roscore_pid)

    def _write_known_hosts(self):
        # the robots' real host keys, written before the first connection: no trust on first use
        with open(self.known_hosts, "w") as known:
            for robot in self.robots:
                if robot.host_key:
                    known.write("%s %s\n" % (robot.address, robot.host_key))

    def destroy(self):
        """Remove every robot: all processes inside its namespace, the namespace, its account, its files."""
        left = {}
        for robot in self.robots:
            if netns.exists(robot.name):
                still = procs.end_processes(lambda r=robot: procs.namespace_pids(r.name))
                if still:
                    left[robot.name] = still
            netns.delete(robot.name, robot.host_if)
            netns.remove_private_etc(robot.name)
            if not robot.account_existed:
                remove_account(robot.name)
        if left:
            raise RuntimeError("processes that would not end: %s" % left)
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.robots = []

    def status(self):
        return {
            r.name: {
                "address": r.address,
                "namespace": netns.exists(r.name),
                "sshd": procs.is_running(r.sshd_pid, r.sshd_started),
                "roscore": procs.is_running(r.roscore_pid, r.roscore_started) and roscore.master_answers(r.master_uri),
            }
            for r in self.robots
        }

    # --- what Ansible needs ----------------------------------------------------------------------
    def ssh_args(self):
        return "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes" % self.known_hosts

    def host_vars(self, robot, login="root"):
        """Connection and ros_robot variables for ROBOT (absolute paths).

        LOGIN "root": Ansible logs in as root (the ros_robot role needs it) and becomes the launch account
        with su for launches (su allows no pipelining, so each module call costs a few more round trips).
        LOGIN "launch": Ansible logs in as the launch account itself, as on a real robot (ansible_user: ros).
        """
        connection = {
            "ansible_host": robot.address,
            "ansible_user": "root" if login == "root" else robot.name,
            "ansible_ssh_private_key_file": self.controller_key,
            "ansible_ssh_common_args": self.ssh_args(),
            # the robot's own Python (Debian's): interpreter discovery would find the host root's pyenv shims
            "ansible_python_interpreter": "/usr/bin/python3",
        }
        if login == "root":
            connection["ansible_become_method"] = "ansible.builtin.su"
        return dict(
            connection,
            ros_robot_user=robot.name,
            ros_robot_home=robot.path("home"),
            ros_robot_state_dir=robot.path("state"),
            ros_robot_env_file=robot.path("etc", "ros_env.sh"),
            ros_robot_allowlist=DEMO_ALLOWLIST,
            ros_robot_allowed_env_names=DEMO_ENV_NAMES,
            ros_robot_env={
                "ROS_MASTER_URI": robot.master_uri,
                "ROS_IP": robot.address,
                "ROS_PACKAGE_PATH": DEMO_WORKSPACE,
                "ROBOT_NAME": robot.name,
            },
        )

    def inventory(self, login="root"):
        return {"robots": {"hosts": {r.name: self.host_vars(r, login) for r in self.robots}}}


def allow_traversal(directory):
    """Let every account pass through DIRECTORY and its parents (search permission only: no listing)."""
    while directory != os.path.dirname(directory):
        mode = os.stat(directory).st_mode
        if not mode & 0o001:
            os.chmod(directory, (mode & 0o7777) | 0o111)  # noqa: S103 - search permission only, no listing
        directory = os.path.dirname(directory)


def remove_account(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    subprocess.run(["userdel", name], check=True, capture_output=True)


def free_subnet_base(preferred_second_octet, avoid=range(0)):
    """A 10.X base whose 10.X.0.0/16 no route on this host overlaps, trying X = PREFERRED, PREFERRED+1, ..."""
    used = netns.used_networks()
    for step in range(54):
        octet = 200 + (preferred_second_octet - 200 + step) % 54
        candidate = ipaddress.ip_network("10.%d.0.0/16" % octet)
        if octet not in avoid and not any(candidate.overlaps(net) for net in used):
            return "10.%d" % octet
    raise RuntimeError("no free 10.200-253.x.x range for stand-in robots")
