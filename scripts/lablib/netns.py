"""Network namespaces and veth pairs: one /24 per robot, host side .1, robot side .2."""

import ipaddress
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
