"""Fixtures for the tailnet tests: a real coordination server, real clients, a real desktop, real ROS 1.

- headscale, built from its Go module (scripts/lab/tailnet), with its embedded DERP server, on a lab-only address
  of this host (scripts/lablib/headscale.py);
- STAND-IN robots: network namespaces with sshd and roscore (scripts/lablib), each with tailscaled (tailscale.com,
  the version the desktop image pins) on a TUN device inside its namespace;
- the controller's tailscaled (userspace networking), through which Ansible reaches robots by tailnet name;
- the desktop: the image the collection builds (roverlab/desktop), run by the collection's desktop_docker playbook,
  its auth key issued by the role through headscale's API.

The direct path from the desktop to the robots is blocked (a DROP rule in each robot's namespace for everything the
host forwards to it), so ROS reaches the robots over the tailnet only, relayed by headscale's DERP server.

Names come from this process's PID (robots rtn<pid>-robotN, containers and network rtn-*, the address
10.X.0.1 of the robots' subnet base), so two runs and the local lab (10.201.x) can coexist. The session removes
everything it made, also after a failure; the images stay (they are the build cache of the next run).
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))

from lablib import RobotLab, free_subnet_base  # noqa: E402  (scripts/ is not a package on sys.path)
from lablib.tailnet import DESKTOPS_USER, LabTailnet  # noqa: E402
from testkit import wait_for  # noqa: E402  (tests/ is not a package on sys.path)

CACHE = REPO / ".cache"
BIN_DIR = CACHE / "lab" / "tailnet" / "bin"
ARTIFACTS = CACHE / "test-artifacts" / "tailnet"
IMAGE_WORK = CACHE / "desktop-image"
IMAGE = "roverlab/desktop"
TAG = "bookworm"
PREFIX = "rtn"
USER = "alice"
CONTAINER = "%s-%s" % (PREFIX, USER)
NETWORK = "%s-net" % PREFIX
ROBOTS = 2
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def ansible_env(**extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.update(extra)
    return env


def run_tailnet_playbook(playbook, extra, *args, inventory="localhost,", timeout=1800, env=None):
    """(rc, output, seconds) of ansible-playbook PLAYBOOK with EXTRA as an extra-vars file."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    extra_file = ARTIFACTS / ("vars-%d-%s.json" % (os.getpid(), Path(playbook).stem))
    extra_file.write_text(json.dumps(extra))
    argv = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    argv += ["-e", "@%s" % extra_file, *args]
    began = time.monotonic()
    proc = subprocess.run(
        argv, cwd=REPO, env=env or ansible_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - began


def recap(output, host="localhost"):
    found = {m.group(1): tuple(int(g) for g in m.groups()[1:]) for m in RECAP.finditer(output)}
    assert found, "no PLAY RECAP in:\n" + output[-3000:]
    return found[host] if host else found


def docker(*argv, check=True, timeout=120):
    proc = subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=timeout, check=False)
    if check:
        assert proc.returncode == 0, "docker %s: %s" % (" ".join(argv), proc.stderr)
    return proc


def log_mark():
    """Now, as `docker logs --since` takes it: the lines a container writes from here on (the engine stamps each line
    when it receives it, on this machine's clock). Unlike an offset into an earlier read, it holds across restarts
    and a container that the playbook recreated."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def container_logs(container, since=None):
    """What CONTAINER wrote (since a log_mark()), standard output and error together."""
    proc = docker("logs", *(["--since", since] if since else []), container, check=False)
    return proc.stdout + proc.stderr


def netns_exec(name, *argv, env=None, timeout=60, check=True):
    proc = subprocess.run(
        ["ip", "netns", "exec", name, *argv], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check:
        assert proc.returncode == 0, "%s in %s: %s%s" % (" ".join(argv), name, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="session")
def base_dir():
    if os.geteuid() != 0:
        pytest.fail("the tailnet tests need root: network namespaces, TUN devices, a lab address")
    base = Path("/tmp/roverlab-tailnet-%d" % os.getpid())
    base.mkdir(mode=0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def binaries():
    """headscale and tailscaled from their Go modules (cached in .cache/lab/tailnet/bin and .cache/go)."""
    proc = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), str(REPO / "scripts" / "lab" / "tailnet" / "build.py"),
         "--out", str(BIN_DIR)],
        capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return BIN_DIR


@pytest.fixture(scope="session")
def robots(base_dir):
    """Robots 1..ROBOTS: namespaces with sshd and roscore (STAND-IN robots, real ROS 1)."""
    subnet = free_subnet_base(240 + os.getpid() % 10, avoid={201})
    lab = RobotLab(str(base_dir / "robots"), prefix="%s%d" % (PREFIX, os.getpid()), subnet_base=subnet)
    try:
        lab.create(ROBOTS)
        yield lab
    finally:
        lab.destroy()


@pytest.fixture(scope="session")
def tailnet(base_dir, binaries, robots):
    """headscale on <subnet base>.0.1, every robot and the controller on the tailnet."""
    net = LabTailnet(
        str(base_dir / "tailnet"),
        robots_dir=robots.base_dir,
        address="%s.0.1" % robots.subnet_base,
        bin_dir=str(binaries),
    )
    try:
        net.up()
        yield net
    finally:
        net.down()


def image_vars():
    """The desktop image as the desktop_image tests build it (same work and cache directories: one build)."""
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": str(REPO / ".venv" / "bin" / "python"),
        "desktop_image_hosts": "localhost",
        "desktop_image_work_dir": str(IMAGE_WORK / "work"),
        "desktop_image_npm_cache_dir": str(CACHE / "npm"),
        "desktop_image_go_cache_dir": str(CACHE / "go"),
    }


@pytest.fixture(scope="session")
def desktop_image():
    """roverlab/desktop, built (or found up to date) by the collection's desktop_image playbook."""
    IMAGE_WORK.mkdir(parents=True, exist_ok=True)
    rc, output, _seconds = run_tailnet_playbook(REPO / "playbooks" / "desktop_image.yml", image_vars(), timeout=3600)
    assert rc == 0, output[-6000:]
    return "%s:%s" % (IMAGE, TAG)


def remove_desktops():
    for name in docker("ps", "-aq", "--filter", "name=^/%s-" % PREFIX).stdout.split():
        docker("rm", "-f", "-v", name, check=False)
    for volume in docker("volume", "ls", "-q", "--filter", "name=^%s-" % PREFIX).stdout.split():
        docker("volume", "rm", "-f", volume, check=False)
    docker("network", "rm", NETWORK, check=False)


class Desktop:
    """alice's desktop, run by the collection's desktop_docker playbook on this machine's engine."""

    def __init__(self, extra):
        self.extra = extra
        self.secrets_dir = Path(extra["desktop_docker_secrets_dir"])

    def converge(self, **overrides):
        rc, output, _seconds = run_tailnet_playbook(
            REPO / "playbooks" / "desktop_docker.yml", dict(self.extra, **overrides)
        )
        assert rc == 0, output[-6000:]
        return output

    def logs(self, since=None):
        return container_logs(CONTAINER, since)

    def exec(self, command, user="1000", env=None, timeout=120, check=True):
        argv = ["exec", "-u", user]
        for name, value in (env or {}).items():
            argv += ["-e", "%s=%s" % (name, value)]
        proc = docker(*argv, CONTAINER, "bash", "-lc", command, check=False, timeout=timeout)
        if check:
            assert proc.returncode == 0, "%s: rc %s\n%s\n%s" % (command, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def tailscale(self, *args, check=True):
        return self.exec(
            " ".join(["tailscale", "--socket=/run/desktop/tailscale/tailscaled.sock", *args]), user="0", check=check
        )

    def wait_joined(self, since=None, timeout=180):
        """The tailnet address once the container's log says it joined (since SINCE, a log_mark())."""

        def joined():
            found = re.findall(r"tailscale: joined the tailnet as \S+ \((100\.[0-9.]+)\)", self.logs(since))
            return found[-1] if found else None

        try:
            return wait_for(joined, timeout=timeout, interval=1, what="the desktop to join the tailnet")
        except AssertionError as e:
            raise AssertionError("%s; the container's last lines:\n%s" % (e, self.logs()[-3000:])) from None


def desktop_vars(net, base_dir, users):
    api_key = net.api_key()
    ca = Path(net.ca_file).read_text()
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": str(REPO / ".venv" / "bin" / "python"),
        "desktop_docker_hosts": "localhost",
        "desktop_docker_image": IMAGE,
        "desktop_docker_image_tag": TAG,
        "desktop_docker_image_pull": "never",
        "desktop_docker_name_prefix": PREFIX,
        "desktop_docker_network": NETWORK,
        # nothing published on the host: the tests reach the desktop with docker exec, and its tailnet
        "desktop_docker_web_bind_address": "",
        "desktop_docker_direct_bind_address": "",
        "desktop_docker_cpu": "500m",
        "desktop_docker_cpu_limit": "1",
        "desktop_docker_memory": "512Mi",
        "desktop_docker_memory_limit": "2Gi",
        "desktop_docker_shm_size": "128Mi",
        "desktop_docker_secrets_dir": str(base_dir / "desktop-secrets"),
        "desktop_docker_backup_dir": str(base_dir / "desktop-backups"),
        # the lab's own coordination server, its CA, and every desktop's key from its API
        "desktop_docker_tailscale_login_server": net.login_server,
        "desktop_docker_tailscale_login_server_ca": ca,
        "desktop_docker_tailscale_key_issuer": {
            "backend": "headscale",
            "api_url": net.login_server,
            "api_key": api_key,
            "user": DESKTOPS_USER,
            "ca_path": net.ca_file,
            "expiry": 3600,
        },
        # MagicDNS (robots by name) and no log uploads to Tailscale (the lab is offline)
        "desktop_docker_env": {"TAILSCALE_UP_ARGS": "--accept-dns=true", "TS_NO_LOGS_NO_SUPPORT": "true"},
        "desktop_users": users,
    }


@pytest.fixture(scope="session")
def desktop(base_dir, tailnet, desktop_image):
    """alice's desktop on the tailnet (TUN: the role gives it NET_ADMIN and /dev/net/tun)."""
    remove_desktops()
    result = Desktop(desktop_vars(tailnet, base_dir, [{"name": USER}]))
    try:
        result.converge()
        result.address = result.wait_joined()
        yield result
    finally:
        remove_desktops()


def block_direct_route(robot):
    """Drop everything that reaches ROBOT through the host (forwarded from containers and pods, or the host's own):
    the robot's namespace accepts only what comes from headscale's address (its DERP relay)."""
    netns_exec(robot.name, "iptables", "-I", "INPUT", "-s", robot.host_address, "-j", "DROP")


def unblock_direct_route(robot):
    netns_exec(robot.name, "iptables", "-D", "INPUT", "-s", robot.host_address, "-j", "DROP", check=False)


@pytest.fixture(scope="session")
def direct_route_blocked(robots, tailnet):
    for robot in robots.robots:
        block_direct_route(robot)
    yield
    for robot in robots.robots:
        unblock_direct_route(robot)


def tcp_probe(host, port):
    """A Python one-liner that connects to HOST:PORT within 5 s (rc 0) or fails."""
    return "import socket; socket.create_connection((%r, %d), 5).close()" % (host, port)


def wait_tailnet_path(desktop, robot, robot_ip, timeout=180):
    """TCP both ways between the desktop and ROBOT over the tailnet: the desktop reaches the robot's master, the robot
    reaches the desktop (its sshd), as the master's callbacks do. After the coordination server, a desktop or a robot
    restarts, the peers learn each other's new keys and paths a moment later, and a connection tried before that
    hangs in SYN retries for minutes (a ROS tool has no timeout): the ROS tests wait for this first."""

    def both_ways():
        there = desktop.exec("python3 -c %s" % shlex.quote(tcp_probe(robot_ip, 11311)), check=False, timeout=30)
        if there.returncode != 0:
            return False
        back = netns_exec(robot.name, "python3", "-c", tcp_probe(desktop.address, 2222), check=False, timeout=30)
        return back.returncode == 0

    wait_for(both_ways, timeout=timeout, interval=2, what="TCP both ways between the desktop and %s" % robot.name)


@pytest.fixture
def tailnet_path(robots, tailnet, desktop, direct_route_blocked):
    """The first robot and its tailnet address, once TCP runs both ways between it and the desktop."""
    robot = robots.robots[0]
    robot_ip = tailnet.robots[robot.name]["ip"]
    wait_tailnet_path(desktop, robot, robot_ip)
    return robot, robot_ip


class Publisher:
    """rostopic pub on a robot, bound to nothing but advertising the robot's tailnet address (ROS_IP)."""

    def __init__(self, robot, tailnet_ip, topic, text):
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": robot.directory,
            "ROS_HOME": robot.path("roscore"),
            "ROS_MASTER_URI": "http://%s:11311" % tailnet_ip,
            "ROS_IP": tailnet_ip,
        }
        self.proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                robot.name,
                "rostopic",
                "pub",
                "-r",
                "5",
                topic,
                "std_msgs/String",
                "data: %s" % text,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
