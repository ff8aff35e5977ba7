"""The README's main job, end to end, on the local lab.

Runs exactly what a newcomer runs (`scripts/lab.sh up`, then `ansible-playbook site.yml` against the default
inventory) and then the day-to-day playbooks on the result. The lab's rover nodes run the k3s STAND-IN: a
launcher of the real Kubernetes components and containerd, built from their Go modules (docs/testing.md),
so the desktops run as real pods in the node containers, from the collection's own desktop image
(roles/desktop_image, imported from the tarball scripts/lab/save-images.sh exports; a real Chromium logs in to one
through a port-forward over the API server); the robots run real ROS 1, on the lab's tailnet as well.

The `lab` fixture (conftest.py) brings the lab up for the session: a lab that was already up is used as it is and
left up; a lab the session brought up is removed again (the Docker engine stays: the test runner owns it).
"""

import base64
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import desktop_image_helpers as browsing
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from kubeapi import Api  # noqa: E402  (after the path setup above)
from testkit import wait_for  # noqa: E402

PLAYBOOK = str(REPO / ".venv" / "bin" / "ansible-playbook")
KUBECONFIG = REPO / ".cache" / "lab" / "kube" / "config.yaml"
# the desktop's own programs, as their command lines show in the node container
DESKTOP_PROCESSES = (
    r"^Xvnc :\d",
    r"\bwebsockify\b",
    r"/opt/code-server/out/node/entry\.js",
    r"^(sshd: )?/usr/sbin/sshd -D",
)
# what each of its ports says first: noVNC's page, code-server's redirect to its login page, the VNC and SSH banners
DESKTOP_ANSWERS = {"novnc": r"200$", "code": r"302$", "vnc": r"RFB 003\.", "ssh": r"SSH-2\.0-"}
# the k3s stand-in the lab's nodes run (scripts/lab.sh up builds it for the lab's k3s_version); it carries the
# real kubectl
LAB_K3S = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "k3s_cluster.yml").read_text())
K3S = REPO / ".cache" / "lab" / "k3s-airgap" / LAB_K3S["k3s_version"] / "k3s"
ARTIFACTS = REPO / ".cache" / "test-artifacts" / "lab"
# what the collection's desktop image seeds into a new volume (roles/desktop_image)
DESKTOP_SEED = REPO / "roles" / "desktop_image" / "files" / "seed"
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


def test_the_lab_tailnet_has_every_robot_on_it(lab):
    """scripts/lab.sh up starts the lab's tailnet: headscale on its lab-only address, the robots and this machine."""
    deadline = time.monotonic() + 120
    while True:
        status = run(str(REPO / "scripts" / "lab" / "tailnet.sh"), "status", check=False)
        if status.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert status.returncode == 0, status.stdout + status.stderr
    state = json.loads(status.stdout)
    assert state["headscale"]["url"].startswith("https://10.201.0.1:"), state
    assert set(state["robots"]) == {"roverlab-robot1", "roverlab-robot2", "roverlab-robot3"}, state
    assert state["controller"]["running"] and state["controller"]["ip"], state


# before the desktops start: the launch checks the robot's clock over SSH first, and on a busy two-core machine
# (two desktops starting) a round trip can take longer than that check allows
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


def desktop_pods():
    pods = api_get("/api/v1/pods?labelSelector=app.kubernetes.io%2Fname%3Dclouddesktop")["items"]
    return {p["metadata"]["labels"]["app.kubernetes.io/instance"]: p for p in pods}


def running(pod):
    statuses = pod["status"].get("containerStatuses") or []
    return pod["status"].get("phase") == "Running" and statuses and all(s.get("ready") for s in statuses)


def why_not_running(pods):
    """What keeps PODS from running, for a failure message: each pod's phase, the scheduler's message and its
    containers' waiting reasons, then each node's taints and its conditions other than Ready."""
    lines = []
    for user, pod in sorted(pods.items()):
        status = pod["status"]
        said = [c.get("message") or c.get("reason") for c in status.get("conditions") or [] if c["status"] != "True"]
        for container in status.get("initContainerStatuses", []) + status.get("containerStatuses", []):
            waiting = container.get("state", {}).get("waiting")
            if waiting:
                said.append("%s: %s %s" % (container["name"], waiting.get("reason"), waiting.get("message", "")))
        lines.append("%s: %s; %s" % (user, status.get("phase"), "; ".join(filter(None, said))))
    for node in api_get("/api/v1/nodes")["items"]:
        taints = ["%s:%s" % (t["key"], t["effect"]) for t in node["spec"].get("taints") or []]
        conditions = {c["type"]: c["status"] for c in node["status"].get("conditions") or []}
        lines.append("node %s: taints %s, conditions %s" % (node["metadata"]["name"], taints, conditions))
    return "\n".join(lines)


def changed_tasks(output):
    """The TASK lines of the tasks that reported a change, with the messages printed around them."""
    tasks, task = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:") or "a new key was issued" in line:
            tasks.append("%s\n    %s" % (task, line.strip()))
    return "\n".join(tasks)


def test_desktops_reconcile_then_list(lab):
    run(PLAYBOOK, "roverlab.clouddesktop.desktops")
    again = run(PLAYBOOK, "roverlab.clouddesktop.desktops")
    assert changed_hosts(again.stdout) == {}, changed_tasks(again.stdout)
    deadline = time.monotonic() + 300
    while not (len(desktop_pods()) == 2 and all(running(p) for p in desktop_pods().values())):
        assert time.monotonic() < deadline, why_not_running(desktop_pods())
        time.sleep(3)
    listing = run(PLAYBOOK, "roverlab.clouddesktop.desktop_list").stdout
    rows = [line for line in listing.splitlines() if re.search(r"\b(alice|bob)\b.*\bRunning\b", line)]
    assert len(rows) == 2, listing[-3000:]


def pod_processes(node, pod):
    """The command lines of the processes of POD's containers, found in its node container by their cgroups."""
    ids = [s["containerID"].split("://", 1)[1] for s in pod["status"]["containerStatuses"]]
    script = (
        'for f in /proc/[0-9]*/cgroup; do if grep -qE "$1" "$f" 2>/dev/null; then '
        'tr "\\0" " " <"${f%/cgroup}/cmdline"; echo; fi; done'
    )
    found = docker("exec", node, "sh", "-c", script, "sh", "|".join(ids))
    return [line for line in found.stdout.splitlines() if line.strip()]


def port_answer(node, address, port):
    """What the desktop's port PORT says first, asked from NODE: an HTTP status for a web port, else its banner."""
    if port["name"] in ("novnc", "code"):
        url = "http://%s:%d/" % (address, port["port"])
        return docker("exec", node, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10", url).stdout
    script = 'exec 3<>"/dev/tcp/$1/$2"; timeout 10 head -c 12 <&3'
    return docker("exec", node, "bash", "-c", script, "bash", address, str(port["port"])).stdout


def test_desktop_pods_run_in_the_node_containers_and_answer_from_the_other_node(lab):
    pods = desktop_pods()
    assert set(pods) == {"alice", "bob"} and all(running(p) for p in pods.values()), why_not_running(pods)
    nodes = {"roverlab-rover1", "roverlab-rover2"}
    seed = sorted(p.name for p in (DESKTOP_SEED / "catkin_ws" / "src").iterdir())
    for user, pod in pods.items():
        node = pod["spec"]["nodeName"]
        assert node in nodes
        # the desktop's processes are processes of that node container (the pod's containers run in it): the
        # collection's desktop image runs TigerVNC's Xvnc, noVNC's websockify, code-server and sshd (whose
        # listener shows itself as "sshd: <command line> [listener] ...")
        processes = "\n".join(pod_processes(node, pod))
        for program in DESKTOP_PROCESSES:
            assert re.search(program, processes, re.MULTILINE), (user, program, processes)
        # its volume was bound by the local-path StorageClass and seeded from the image by the init container:
        # the image's workspace (roles/desktop_image/files/seed), owned by the desktop user
        claim = api_get(
            "/api/v1/namespaces/%s/persistentvolumeclaims/%s-clouddesktop-storage"
            % (pod["metadata"]["namespace"], user)
        )
        assert claim["status"]["phase"] == "Bound"
        volume = api_get("/api/v1/persistentvolumes/%s" % claim["spec"]["volumeName"])
        src = volume["spec"]["hostPath"]["path"] + "/catkin_ws/src"
        seeded = docker("exec", node, "sh", "-c", 'ls -A "$1"; stat -c "%u" "$1"', "sh", src)
        listing = seeded.stdout.split()
        assert listing[:-1] and set(seed) <= set(listing[:-1]), (seed, seeded.stdout + seeded.stderr)
        assert listing[-1] == "1000", "the seeded workspace is not the desktop user's: " + seeded.stdout
        # its Service answers on every port from the other node (kube-proxy's rules, the pod network's routes)
        service = api_get("/api/v1/namespaces/%s/services/%s-clouddesktop" % (pod["metadata"]["namespace"], user))
        other = (nodes - {node}).pop()
        # a desktop that has just started may not answer on every port yet (code-server answered 404 for a while
        # on a busy machine)
        deadline = time.monotonic() + 240
        while True:
            answers = {p["name"]: port_answer(other, service["spec"]["clusterIP"], p) for p in service["spec"]["ports"]}
            if all(re.match(DESKTOP_ANSWERS[name], answers.get(name, "")) for name in DESKTOP_ANSWERS):
                break
            assert time.monotonic() < deadline, (user, answers)
            time.sleep(5)


@contextlib.contextmanager
def port_forward(namespace, service, port, log):
    """A loopback port of this machine forwarded to SERVICE's PORT over the lab's API server (`kubectl
    port-forward`: API server, kubelet, containerd into the pod's network namespace). kubectl ends its
    port-forward when one forwarded connection fails ("lost connection to pod", as when the desktop closes a
    refused VNC session), so it is started again on the same port until the test is done."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        local = probe.getsockname()[1]
    argv = [str(K3S), "kubectl", "--kubeconfig", str(KUBECONFIG), "-n", namespace, "port-forward"]
    argv += ["--address", "127.0.0.1", "service/%s" % service, "%d:%d" % (local, port)]
    done = threading.Event()
    procs = []

    def keep_forwarding():
        with open(log, "a") as out:
            while not done.is_set():
                procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT))
                while procs[-1].poll() is None and not done.is_set():
                    time.sleep(0.2)
                time.sleep(0.3)

    keeper = threading.Thread(target=keep_forwarding, daemon=True)
    keeper.start()
    try:
        wait_for(
            lambda: "Forwarding from 127.0.0.1:%d" % local in (log.read_text() if log.exists() else ""),
            timeout=60, interval=0.5, what="kubectl port-forward",
        )  # fmt: skip
        yield local
    finally:
        done.set()
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        keeper.join(timeout=30)


def http_status(url):
    """The HTTP status of URL, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310  (loopback)
            return answer.status
    except (OSError, urllib.error.URLError):
        return None


def test_a_browser_logs_in_to_a_lab_desktop_with_the_password_of_its_secret(lab, browser, tmp_path):
    pod = desktop_pods()["alice"]
    namespace = pod["metadata"]["namespace"]
    secret = api_get("/api/v1/namespaces/%s/secrets/alice-clouddesktop" % namespace)
    password = base64.b64decode(secret["data"]["password"]).decode()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with port_forward(namespace, "alice-clouddesktop", 80, tmp_path / "port-forward.log") as port:
        desktop = SimpleNamespace(url=lambda _port_name, path: "http://127.0.0.1:%d%s" % (port, path))
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        try:
            page = context.new_page()
            # a wrong password is refused (VNC compares the first 8 characters: change the first one)
            browsing.log_in_to_novnc(page, desktop, ("x" if password[0] != "x" else "y") + password[1:])
            page.wait_for_selector("#noVNC_status.noVNC_status_error", timeout=120000)
            assert "Authentication failure" in page.inner_text("#noVNC_status")
            assert page.query_selector("html.noVNC_connected") is None
            page.close()
            # the Secret's password opens the desktop, and Xfce is drawn (not one colour: a black root window).
            # The refused session's reset ends kubectl's port-forward (see port_forward), so the login waits for
            # the forward to answer again, and is tried once more when the forward dropped under it all the same.
            novnc_page = "http://127.0.0.1:%d/vnc.html" % port
            for attempt in (1, 2):
                wait_for(lambda: http_status(novnc_page) == 200, timeout=60, what="the forward")
                page = context.new_page()
                try:
                    browsing.log_in_to_novnc(page, desktop, password)
                    page.wait_for_selector("html.noVNC_connected", timeout=120000)
                    break
                except PlaywrightTimeoutError:
                    if attempt == 2:
                        raise
                    page.screenshot(path=str(ARTIFACTS / "lab-novnc-login-try-1.png"))
                    page.close()
            deadline = time.monotonic() + 120
            while True:
                colours, top_share = browsing.canvas_colours(page)
                if (colours >= 32 and top_share < 0.97) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            page.screenshot(path=str(ARTIFACTS / "lab-novnc-desktop.png"))
            assert colours >= 32 and top_share < 0.97, "the desktop is not drawn: %d colours, top %.0f%%" % (
                colours,
                100 * top_share,
            )
        finally:
            context.close()
