"""scripts/docker-engine.sh stop leaves nothing of the engine in iptables or the links (issue 12, item 13).

dockerd adds its DOCKER* chains, jumps to them, FORWARD accepts for its bridges and a masquerade per network,
and leaves them all when it stops. The test runs a second engine of the project's own script in a network
namespace of its own (netfilter state is per namespace: the shared engine's rules are never touched), gives it a
bridge network, puts a rule of someone else beside its rules, stops it with the script, and reads what is left.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "docker-engine.sh"
FOREIGN_NAT = ["POSTROUTING", "-s", "10.199.7.0/24", "-j", "MASQUERADE"]
FOREIGN_FILTER = ["FORWARD", "-i", "rleng-other", "-j", "ACCEPT"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dockerd"), reason="needs root and dockerd")


def netns(name, *argv, check=True, env=None):
    # nsenter, not `ip netns exec`: that one mounts a sysfs of its own, without the cgroup mounts dockerd needs
    done = subprocess.run(
        ["nsenter", "--net=/run/netns/" + name, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    if check and done.returncode:
        pytest.fail("%s failed (rc %d): %s%s" % (" ".join(argv), done.returncode, done.stdout, done.stderr))
    return done


@pytest.fixture
def engine(tmp_path):
    """A netns and an engine directory of this test; the engine is stopped and both are removed at the end."""
    name = "rleng-%d" % os.getpid()
    directory = Path("/var/lib/roverlab-engine-test-%d" % os.getpid())  # overlay2 needs a real filesystem
    env = dict(
        os.environ,
        ROVERLAB_ENGINE_DIR=str(directory),
        ROVERLAB_DOCKER_HOST="unix://%s/docker.sock" % directory,
        DOCKER_HOST="unix://%s/docker.sock" % directory,
    )
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        netns(name, "ip", "link", "set", "lo", "up")
        yield name, env
    finally:
        netns(name, str(SCRIPT), "stop", check=False, env=env)
        subprocess.run(["ip", "netns", "delete", name], check=False)
        subprocess.run(["umount", "-R", str(directory / "data")], capture_output=True, check=False)
        shutil.rmtree(directory, ignore_errors=True)


def test_stop_removes_the_engines_chains_rules_and_bridges_and_nothing_else(engine):
    name, env = engine
    netns(name, str(SCRIPT), "start", env=env)
    netns(name, "docker", "network", "create", "--subnet", "10.199.8.0/24", "rleng-net", env=env)
    netns(name, "iptables", "-w", "-t", "nat", "-A", *FOREIGN_NAT)
    netns(name, "iptables", "-w", "-A", *FOREIGN_FILTER)
    before = netns(name, "iptables-save").stdout
    assert ":DOCKER" in before and "10.199.8.0/24" in before, before  # what there is to remove

    assert netns(name, str(SCRIPT), "stop", env=env).stdout.strip() == "stopped"

    after = netns(name, "iptables-save").stdout
    assert "DOCKER" not in after, after
    assert "docker0" not in after and "br-" not in after and "10.199.8.0/24" not in after, after
    # someone else's rules in the same tables stay
    assert "-A %s" % " ".join(FOREIGN_NAT) in after, after
    assert "-A %s" % " ".join(FOREIGN_FILTER) in after, after
    links = netns(name, "ip", "-o", "link").stdout
    assert "docker0" not in links and "br-" not in links, links
