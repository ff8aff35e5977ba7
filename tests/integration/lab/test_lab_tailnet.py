"""The lab's Kubernetes desktops on the lab's tailnet (issue 11), after test_lab.py made alice's and bob's desktops.

The lab inventory gives cloud_desktop the lab's headscale (scripts/lab/tailnet.sh, started by `lab.sh up`) as login
server and key issuer: each desktop gets its own key from headscale's API, kept in its Secret. The desktop pods run
the collection's image, whose tailscaled makes its TUN device in the pod; the robots are STAND-INs (network
namespaces with real ROS 1 and tailscaled), as in the tailnet tests.

- each desktop joins under its Deployment's name, and desktop_list says where it stands;
- from inside alice's pod, a message published on a robot arrives over the tailnet only: the test drops in the
  robot's namespace everything the host forwards to it, and checks that the direct path is closed;
- an expired node: the pod's log and desktop_list say so, and one run of the desktops playbook re-keys the desktop
  (a new key from headscale, a restart) so that it is back on the tailnet.
"""

import os
import re
import shlex
import subprocess
import sys

import pytest
from test_lab import K3S, KUBECONFIG, PLAYBOOK, REPO, changed_hosts, desktop_pods, run, running, why_not_running

sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))
from lablib import RobotLab
from lablib.tailnet import LabTailnet
from testkit import conftest_of, wait_for

tailnet_helpers = conftest_of("tailnet", "tailnet_helpers")  # Publisher (rostopic pub on a robot), tcp_probe
TAILNET_DIR = REPO / ".cache" / "lab" / "tailnet" / "net"
ROBOTS_DIR = REPO / ".cache" / "lab" / "robots"
JOINED = r"tailscale: joined the tailnet as %s \((100\.[0-9.]+)\)"


def kubectl(*argv, timeout=120, check=True):
    proc = subprocess.run(
        [str(K3S), "kubectl", "--kubeconfig", str(KUBECONFIG), *argv],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if check:
        assert proc.returncode == 0, "kubectl %s: %s%s" % (" ".join(argv[:4]), proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def pod_of(user):
    pods = desktop_pods()
    assert user in pods and running(pods[user]), why_not_running(pods)
    return pods[user]


def in_pod(user, script, timeout=120, check=True):
    """SCRIPT in a login shell (the desktop's ROS_IP) in USER's desktop container."""
    pod = pod_of(user)
    argv = ["exec", "-n", pod["metadata"]["namespace"], pod["metadata"]["name"], "-c", "desktop", "--"]
    return kubectl(*argv, "bash", "-lc", script, timeout=timeout, check=check)


def pod_log(user):
    pod = pod_of(user)
    return kubectl("logs", "-n", pod["metadata"]["namespace"], pod["metadata"]["name"], "-c", "desktop").stdout


def wait_joined(user, timeout=240):
    """USER's desktop's tailnet address, once its log says that it joined under its Deployment's name."""
    pattern = JOINED % re.escape("%s-clouddesktop" % user)

    def joined():
        pods = desktop_pods()
        if user not in pods or not running(pods[user]):
            return None
        return re.search(pattern, pod_log(user))

    found = wait_for(joined, timeout=timeout, interval=3, what="%s's desktop to join the lab's tailnet" % user)
    return found.group(1)


def listing():
    return run(PLAYBOOK, "roverlab.clouddesktop.desktop_list").stdout


def listed_tailnet_state(output, user):
    rows = [line for line in output.splitlines() if re.search(r"\b%s\b.*\b(Running|Pending|Stopped)\b" % user, line)]
    assert len(rows) == 1, output[-3000:]
    return rows[0].strip(" -'\",").split()[-1]


@pytest.fixture(scope="module")
def tailnet(lab):
    net = LabTailnet.load(str(TAILNET_DIR))
    assert net.robots, "the lab's tailnet is not up (scripts/lab.sh up starts it)"
    return net


@pytest.fixture(scope="module")
def robots(lab):
    return RobotLab.load(str(ROBOTS_DIR))


@pytest.fixture(scope="module")
def desktops(lab):
    """alice's and bob's desktops running (test_lab.py made them; made again here when this file runs alone)."""
    pods = desktop_pods()
    if not (set(pods) >= {"alice", "bob"} and all(running(p) for p in pods.values())):
        run(PLAYBOOK, "roverlab.clouddesktop.desktops")
        wait_for(
            lambda: set(desktop_pods()) >= {"alice", "bob"} and all(running(p) for p in desktop_pods().values()),
            timeout=400, interval=3, what="alice's and bob's desktops to run",
        )  # fmt: skip
    return {"alice": wait_joined("alice"), "bob": wait_joined("bob")}


def test_each_lab_desktop_joins_under_its_deployment_name_with_its_own_key(tailnet, desktops):
    hs, headscale = tailnet.server(), tailnet.program("headscale")
    nodes = {n.get("given_name"): n for n in hs.nodes(headscale)}
    for user, address in desktops.items():
        node = nodes.get("%s-clouddesktop" % user)
        assert node and address in node.get("ip_addresses", []), (user, address, sorted(nodes))
        assert (node.get("user") or {}).get("name") == "desktops", node
    # two desktops, two keys: each one's own, from headscale's API, kept in its Secret
    keys = {
        user: kubectl(
            "get", "secret", "-n", pod_of(user)["metadata"]["namespace"], "%s-clouddesktop" % user,
            "-o", "jsonpath={.data.tailscale-authkey}",
        ).stdout
        for user in desktops
    }  # fmt: skip
    assert all(keys.values()) and len(set(keys.values())) == 2
    output = listing()
    assert {user: listed_tailnet_state(output, user) for user in desktops} == {"alice": "online", "bob": "online"}
    for key in keys.values():
        assert key not in output


@pytest.fixture
def direct_route_blocked(robots, desktops):
    """The first robot drops everything the host forwards to it (desktop pods included): only the tailnet is left,
    relayed by headscale's DERP server on the host's lab-only address."""
    robot = robots.robots[0]
    rule = ["-s", robot.host_address, "-j", "DROP"]
    subprocess.run(["ip", "netns", "exec", robot.name, "iptables", "-I", "INPUT", *rule], check=True, timeout=30)
    yield robot
    subprocess.run(["ip", "netns", "exec", robot.name, "iptables", "-D", "INPUT", *rule], check=False, timeout=30)


def test_a_lab_desktop_pod_receives_a_message_from_a_robot_over_the_tailnet_only(
    tailnet, desktops, direct_route_blocked
):
    robot = direct_route_blocked
    robot_ip = tailnet.robots[robot.name]["ip"]
    direct = in_pod("alice", "timeout 5 bash -c '</dev/tcp/%s/11311'" % robot.address, check=False)
    assert direct.returncode != 0, "alice's pod still reaches %s's master at %s directly" % (robot.name, robot.address)
    assert in_pod("alice", "echo $ROS_IP").stdout.strip() == desktops["alice"]

    def both_ways():
        there = in_pod("alice", "python3 -c %s" % shlex.quote(tailnet_helpers.tcp_probe(robot_ip, 11311)), check=False)
        back = subprocess.run(
            ["ip", "netns", "exec", robot.name, "python3", "-c", tailnet_helpers.tcp_probe(desktops["alice"], 2222)],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        return there.returncode == 0 and back.returncode == 0

    wait_for(both_ways, timeout=180, interval=3, what="TCP both ways between alice's pod and %s" % robot.name)
    text = "hello pod over the tailnet %d" % os.getpid()
    publisher = tailnet_helpers.Publisher(robot, robot_ip, "/lab_tailnet_chatter", text)
    try:
        uri = "ROS_MASTER_URI=http://%s:11311" % robot_ip
        echoed = in_pod("alice", "%s timeout 120 rostopic echo -n 1 /lab_tailnet_chatter" % uri, timeout=180)
        assert text in echoed.stdout, echoed.stdout + echoed.stderr
    finally:
        publisher.stop()
    socket = "--socket=/run/desktop/tailscale/tailscaled.sock"
    pong = in_pod("alice", "tailscale %s ping --c=1 --timeout=10s %s" % (socket, robot_ip), check=False)
    assert "via DERP(" in pong.stdout, pong.stdout + pong.stderr


def test_an_expired_lab_desktop_is_listed_so_and_one_run_rekeys_it(tailnet, desktops):
    hs, headscale = tailnet.server(), tailnet.program("headscale")
    node = next(n for n in hs.nodes(headscale) if n.get("given_name") == "bob-clouddesktop")
    hs.expire_node(headscale, node["id"])
    pod = pod_of("bob")
    kubectl("delete", "pod", "-n", pod["metadata"]["namespace"], pod["metadata"]["name"], "--wait=true", timeout=180)
    wait_for(
        lambda: "bob" in desktop_pods() and running(desktop_pods()["bob"])
        and re.search(r"refused this desktop's auth key|login has expired", pod_log("bob")),
        timeout=300, interval=3, what="bob's new pod to say that it cannot log in",
    )  # fmt: skip
    assert listed_tailnet_state(listing(), "bob") == "expired"
    before = pod_of("bob")["metadata"]["uid"]
    rekey = run(PLAYBOOK, "roverlab.clouddesktop.desktops").stdout
    assert re.search(r"bob: node key expired .*a new key was issued", " ".join(rekey.split())), rekey[-4000:]
    wait_for(
        lambda: "bob" in desktop_pods() and desktop_pods()["bob"]["metadata"]["uid"] != before,
        timeout=120, interval=2, what="bob's desktop to restart with its new key",
    )  # fmt: skip
    address = wait_joined("bob", timeout=300)
    assert address == desktops["bob"], "bob kept his node (and address) across the re-key"
    wait_for(
        lambda: listed_tailnet_state(listing(), "bob") == "online",
        timeout=90, interval=5, what="desktop_list to show bob online again",
    )  # fmt: skip
    again = run(PLAYBOOK, "roverlab.clouddesktop.desktops").stdout
    assert changed_hosts(again) == {} and "a new key was issued" not in again, again[-3000:]
