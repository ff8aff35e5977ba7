"""Network namespaces and veth pairs: one /24 per robot, host side .1, robot side .2."""

import contextlib
import glob
import ipaddress
import os
import shutil
import subprocess


def ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def exists(netns):
    return netns in ip("netns", "list").stdout.split()


def used_networks():
    """IPv4 networks already routed on this host (ours from an earlier run included)."""
    nets = []
    for line in ip("-4", "route", "show", "table", "all").stdout.splitlines():
        dest = line.split()[0] if line.split() else ""
        if dest[:1].isdigit():
            try:
                nets.append(ipaddress.ip_network(dest, strict=False))
            except ValueError:
                continue
    return nets


def create(netns, host_if, host_addr, robot_addr, prefixlen=24):
    """The namespace NETNS with eth0 = ROBOT_ADDR, wired to HOST_IF = HOST_ADDR in the host namespace."""
    ip("netns", "add", netns)
    ip("link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", netns)
    ip("addr", "add", "%s/%d" % (host_addr, prefixlen), "dev", host_if)
    ip("link", "set", host_if, "up")
    ip("-n", netns, "addr", "add", "%s/%d" % (robot_addr, prefixlen), "dev", "eth0")
    ip("-n", netns, "link", "set", "lo", "up")
    ip("-n", netns, "link", "set", "eth0", "up")


def delete(netns, host_if):
    """Remove the namespace; its end of the veth pair takes the host end with it."""
    if exists(netns):
        ip("netns", "delete", netns)
    if ip("link", "show", host_if, check=False).returncode == 0:
        ip("link", "delete", host_if, check=False)


# Each robot has its own /etc/roverlab, as a real robot has: `ip netns exec NAME` (which starts the robot's sshd,
# so every SSH session to it) bind-mounts each entry of /etc/netns/NAME/ onto the same name in /etc, in a mount
# namespace of its own. /etc/roverlab on the host is only the mount point. So ros_launch's fixed allowlist path,
# /etc/roverlab/ros_launch/allowlist.json, is each robot's own file, written there by the ros_robot role.
ETC_NETNS = "/etc/netns"
PRIVATE_ETC = "roverlab"


def private_etc(netns):
    """Where the host keeps NETNS's own /etc/roverlab."""
    return os.path.join(ETC_NETNS, netns, PRIVATE_ETC)


def prepare_private_etc(netns):
    """Create NETNS's /etc/roverlab (root, 0755) and the host's mount point for it; before sshd starts."""
    for directory in ("/etc/" + PRIVATE_ETC, ETC_NETNS, os.path.dirname(private_etc(netns)), private_etc(netns)):
        os.makedirs(directory, mode=0o755, exist_ok=True)
        os.chown(directory, 0, 0)
        os.chmod(directory, 0o755)  # noqa: S103 - as /etc/roverlab on a robot: readable, writable by root only


def sees_private_etc(pid, netns):
    """Does process PID (the robot's sshd) see NETNS's own directory at /etc/roverlab?"""
    try:
        seen = os.stat("/proc/%d/root/etc/%s" % (pid, PRIVATE_ETC))
        own = os.stat(private_etc(netns))
    except OSError:
        return False
    return (seen.st_dev, seen.st_ino) == (own.st_dev, own.st_ino)


def remove_private_etc(netns):
    """Remove NETNS's /etc/roverlab; the host's mount point too once no robot has one."""
    shutil.rmtree(private_etc(netns), ignore_errors=True)
    for directory in (os.path.dirname(private_etc(netns)), ETC_NETNS):
        with contextlib.suppress(OSError):
            os.rmdir(directory)  # only when empty
    if not glob.glob(os.path.join(ETC_NETNS, "*", PRIVATE_ETC)):
        with contextlib.suppress(OSError):
            os.rmdir("/etc/" + PRIVATE_ETC)  # only when empty: the host's own /etc/roverlab stays
