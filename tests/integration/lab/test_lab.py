"""The README's main job, end to end, on the local lab.

Runs exactly what a newcomer runs (`scripts/lab.sh up`, then `ansible-playbook site.yml` against the default
inventory) and then the day-to-day playbooks on the result. The lab's rover nodes run the k3s STAND-IN: a
launcher of the real Kubernetes components and containerd, built from their Go modules (docs/testing.md),
so the desktops run as real pods in the node containers; the robots run real ROS 1.

A lab that was already up is used as it is and left up; a lab this test brought up is removed again (the Docker
engine stays: the test runner owns it).
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from kubeapi import Api  # noqa: E402  (after the path setup above)

PLAYBOOK = str(REPO / ".venv" / "bin" / "ansible-playbook")
KUBECONFIG = REPO / ".cache" / "lab" / "kube" / "config.yaml"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
LAUNCH = [
    "-e",
    "ros_launch_name=talker",
    "-e",
    "ros_launch_package=roverlab_demo",
    "-e",
    "ros_launch_file=talker.launch",
]


def run(*argv, check=True):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=900)
    if check and proc.returncode != 0:
        pytest.fail(
            "%s failed (rc %d):\n%s\n%s" % (" ".join(argv), proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:])
        )
    return proc


def recap(output):
    """{host: (ok, changed, unreachable, failed)} from ansible-playbook's PLAY RECAP."""
    found = {m.group(1): tuple(int(g) for g in m.groups()[1:]) for m in RECAP.finditer(output)}
    assert found, "no PLAY RECAP in:\n" + output[-3000:]
    return found


def changed_hosts(output):
    return {host: counts[1] for host, counts in recap(output).items() if counts[1]}


@pytest.fixture(scope="module")
def lab():
    was_up = run(str(REPO / "scripts" / "lab.sh"), "status", check=False).returncode == 0
    run(str(REPO / "scripts" / "lab.sh"), "up")
    yield
    if not was_up:
        run(str(REPO / "scripts" / "lab.sh"), "down", "--keep-engine")


def api_get(path):
    api = Api(kubeconfig=KUBECONFIG)
    assert api.url.startswith("https://172.31.250."), api.url  # the lab's own network (scripts/lab/vars.yml)
    return api.get(path)


def docker(*argv):
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=120, check=False)


def test_site_converges_then_reports_no_change_in_either_mode(lab):
    first = run(PLAYBOOK, "site.yml")
    hosts = recap(first.stdout)
    assert {"roverlab-rover1", "roverlab-rover2", "roverlab-robot1", "localhost"} <= set(hosts)
    assert all(counts[2:] == (0, 0) for counts in hosts.values()), hosts
    # the GPU roles skip the container nodes and say why
    assert "No NVIDIA GPU on roverlab-rover1" in first.stdout
    second = run(PLAYBOOK, "site.yml")
    assert changed_hosts(second.stdout) == {}, "second run changed something"
    checked = run(PLAYBOOK, "site.yml", "--check")
    assert changed_hosts(checked.stdout) == {}, "check mode after converge claims changes"


def test_both_rover_nodes_joined_the_cluster(lab):
    nodes = {n["metadata"]["name"]: n for n in api_get("/api/v1/nodes")["items"]}
    assert set(nodes) == {"roverlab-rover1", "roverlab-rover2"}
    for node in nodes.values():
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", node["metadata"]["name"]
    assert KUBECONFIG.stat().st_mode & 0o077 == 0, "the kubeconfig is readable by others"


def desktop_pods():
    pods = api_get("/api/v1/pods?labelSelector=app.kubernetes.io%2Fname%3Dclouddesktop")["items"]
    return {p["metadata"]["labels"]["app.kubernetes.io/instance"]: p for p in pods}


def running(pod):
    statuses = pod["status"].get("containerStatuses") or []
    return pod["status"].get("phase") == "Running" and statuses and all(s.get("ready") for s in statuses)


def test_desktops_reconcile_then_list(lab):
    run(PLAYBOOK, "roverlab.clouddesktop.desktops")
    again = run(PLAYBOOK, "roverlab.clouddesktop.desktops")
    assert changed_hosts(again.stdout) == {}
    deadline = time.monotonic() + 300
    while not (len(desktop_pods()) == 2 and all(running(p) for p in desktop_pods().values())):
        assert time.monotonic() < deadline, {u: p["status"] for u, p in desktop_pods().items()}
        time.sleep(3)
    listing = run(PLAYBOOK, "roverlab.clouddesktop.desktop_list").stdout
    rows = [line for line in listing.splitlines() if re.search(r"\b(alice|bob)\b.*\bRunning\b", line)]
    assert len(rows) == 2, listing[-3000:]


def test_desktop_pods_run_in_the_node_containers_and_answer_from_the_other_node(lab):
    pods = desktop_pods()
    assert set(pods) == {"alice", "bob"} and all(running(p) for p in pods.values()), pods
    nodes = {"roverlab-rover1", "roverlab-rover2"}
    for user, pod in pods.items():
        node = pod["spec"]["nodeName"]
        assert node in nodes
        # the desktop's processes are processes of that node container (the pod's containers run in it)
        processes = docker("exec", node, "ps", "-eo", "args").stdout
        assert "standin-desktop" in processes, processes
        # its volume was bound by the local-path StorageClass and seeded by the init container
        claim = api_get(
            "/api/v1/namespaces/%s/persistentvolumeclaims/%s-clouddesktop-storage"
            % (pod["metadata"]["namespace"], user)
        )
        assert claim["status"]["phase"] == "Bound"
        volume = api_get("/api/v1/persistentvolumes/%s" % claim["spec"]["volumeName"])
        seeded = docker("exec", node, "ls", volume["spec"]["hostPath"]["path"] + "/catkin_ws/src")
        assert "prrexamples" in seeded.stdout, seeded.stdout + seeded.stderr
        # its Service answers from the other node (kube-proxy's rules, the pod network's routes)
        service = api_get("/api/v1/namespaces/%s/services/%s-clouddesktop" % (pod["metadata"]["namespace"], user))
        other = (nodes - {node}).pop()
        for port in service["spec"]["ports"]:
            if port["name"] in ("novnc", "code"):
                url = "http://%s:%d/" % (service["spec"]["clusterIP"], port["port"])
                answer = docker("exec", other, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10", url)
                assert answer.stdout in ("200", "302", "401"), (url, other, answer.stdout, answer.stderr)


def test_ros_launch_starts_publishes_and_stops_on_the_robots(lab):
    started = run(PLAYBOOK, "playbooks/ros_launch.yml", *LAUNCH)
    assert len(re.findall(r"roverlab-robot\d\s+running", started.stdout)) == 3, started.stdout[-3000:]
    try:
        env = dict(os.environ, ROS_MASTER_URI="http://10.201.1.2:11311", ROS_IP="10.201.1.1")
        echo = subprocess.run(
            ["rostopic", "echo", "-n", "1", "/chatter"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "data:" in echo.stdout, echo.stdout + echo.stderr
        again = run(PLAYBOOK, "playbooks/ros_launch.yml", *LAUNCH)
        assert changed_hosts(again.stdout) == {}
    finally:
        stopped = run(PLAYBOOK, "playbooks/ros_launch.yml", *LAUNCH, "-e", "ros_launch_state=stopped")
    assert len(re.findall(r"roverlab-robot\d\s+stopped", stopped.stdout)) == 3, stopped.stdout[-3000:]
