"""desktop_list's status page, JSON and CSV against the test's API server, with real robots: the page, opened in
Debian's Chromium (Playwright), shows each desktop's state, node, GPU (and time-sliced share), idle time from the idle
culler's state, URL, and each robot's running launches (a real roslaunch started by the ros_launch playbook on a
robot in a network namespace). The screenshot goes to .cache/test-artifacts/desktop_class/; the one in docs/images/
is from such a run.

STAND-INS: the API tier's kubelets (tests/kubeapi: pods reported running) and the robots' isolation (network
namespaces, scripts/lablib); the culler's state is written by the culler's own runner with stand-in probes (see
test_class_culler.py).
"""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from class_helpers import CULLER_NS, ServiceAccountClient, install_culler, run_pass, schedulable_node, shipped_runner
from conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))

from lablib import RobotLab, free_subnet_base

NS = "clouddesktop-prod"
ARTIFACTS = REPO / ".cache" / "test-artifacts" / "desktop_class"


@pytest.fixture(scope="module")
def robots():
    """Two robots with sshd and a ROS master, prepared by the ros_robot role, with a launch running on the first."""
    if os.geteuid() != 0:
        pytest.fail("the status page test needs root: its robots are network namespaces")
    base = Path("/tmp/roverlab-hstatus-%d" % os.getpid())
    base.mkdir(mode=0o755)
    lab = RobotLab(str(base / "lab"), prefix="hst%d" % os.getpid(), subnet_base=free_subnet_base(215, avoid={201}))
    try:
        lab.create(2)
        inventory = base / "robots.yml"
        inventory.write_text(yaml.safe_dump({"all": {"children": lab.inventory("root")}}))
        prepare = base / "prepare.yml"
        prepare.write_text(
            "- name: Prepare the robots\n  hosts: robots\n  gather_facts: false\n"
            "  roles:\n    - role: roverlab.clouddesktop.ros_robot\n"
        )
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        playbook = str(REPO / ".venv" / "bin" / "ansible-playbook")
        for argv in (
            [playbook, "-i", str(inventory), str(prepare)],
            [
                playbook,
                "-i",
                str(inventory),
                str(REPO / "playbooks" / "ros_launch.yml"),
                "--limit",
                lab.robots[0].name,
                "-e",
                "ros_launch_name=alice.demo ros_launch_package=roverlab_demo ros_launch_file=talker.launch",
            ],
        ):
            proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
            assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        lab.inventory_file = inventory
        yield lab
    finally:
        lab.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_status_page_json_and_csv(lab, robots, browser, tmp_path):
    kube = lab.kube
    schedulable_node(kube, "robotics-rover1", gpus=1)
    schedulable_node(kube, "robotics-rover2")
    lab.settings["gpu_device_plugin_time_slicing_replicas"] = 4
    lab.users = [
        {"name": "alice", "cpu": "100m", "memory": "128Mi"},
        {"name": "bob", "cpu": "100m", "memory": "128Mi", "state": "stopped"},
        {"name": "carol", "cpu": "100m", "memory": "128Mi", "gpu": 1},
        {"name": "dave", "cpu": "100m", "memory": "128Mi"},
    ]
    assert lab.run("desktops").rc == 0
    kube.start_pods(timeout=600)
    kube.run_kubelets()
    # the culler looks twice: dave is idle long enough and is stopped, alice is idle, carol's GPU is busy
    assert install_culler(lab, desktop_culler_idle_timeout=3).rc == 0
    client = ServiceAccountClient(kube, tmp_path)
    code = shipped_runner(kube, tmp_path)
    probes = {"alice": (0, 0, "none"), "carol": (0, 0, "91, 3000"), "dave": (0, 0, "none")}
    run_pass(code, client, tmp_path / "activity", probes)
    time.sleep(3.5)
    probes["alice"] = (1, 0, "none")
    run_pass(code, client, tmp_path / "activity", probes)
    probes["alice"] = (0, 0, "none")
    run_pass(code, client, tmp_path / "activity", probes)

    page_file = tmp_path / "status.html"
    result = lab.run(
        "desktop_list",
        "-i",
        str(robots.inventory_file),
        "-e",
        "cloud_desktop_list_format=html",
        "-e",
        "cloud_desktop_list_output=%s" % page_file,
    )
    assert result.rc == 0, result
    assert oct(page_file.stat().st_mode & 0o777) == "0o600"

    context = browser.new_context(viewport={"width": 1400, "height": 700})
    page = context.new_page()
    page.goto(page_file.as_uri())
    rows = {
        row.get_attribute("data-user"): [cell.inner_text() for cell in row.query_selector_all("td")]
        for row in page.query_selector_all("#desktops tbody tr")
    }
    assert sorted(rows) == ["alice", "bob", "carol", "dave"], rows
    # columns: user, tier, state, node, GPU, idle, URL, why
    assert rows["alice"][2] == "running" and rows["alice"][3] in ("robotics-rover1", "robotics-rover2"), rows
    assert rows["alice"][5].endswith("s") and "idle for" in rows["alice"][7]
    assert rows["bob"][2] == "stopped" and rows["bob"][5] == "-"
    assert rows["carol"][4].startswith("1") and "1 time-sliced share (4 per GPU)" in rows["carol"][4]
    assert rows["carol"][5] == "busy" and "GPU at 91%" in rows["carol"][7]
    assert rows["dave"][2] == "stopped" and rows["dave"][5] == "stopped by the culler"
    assert rows["alice"][6] == "http://vnc.alice.ros.example.org/"
    launches = [
        [c.inner_text() for c in r.query_selector_all("td")] for r in page.query_selector_all("#robots tbody tr")
    ]
    first, second = robots.robots[0].name, robots.robots[1].name
    assert [first, "alice.demo", "running"] == launches[0][:3], launches
    assert launches[1][:2] == [second, "no launch running"], launches
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "desktop-status.png"), full_page=True)
    context.close()

    json_file, csv_file = tmp_path / "desktops.json", tmp_path / "desktops.csv"
    for fmt, path in (("json", json_file), ("csv", csv_file)):
        out = lab.run(
            "desktop_list", "-e", "cloud_desktop_list_format=%s" % fmt, "-e", "cloud_desktop_list_output=%s" % path
        )
        assert out.rc == 0, out
    data = {row["user"]: row for row in json.loads(json_file.read_text())}
    assert data["dave"]["state"] == "stopped" and "stopped by the idle culler" in data["dave"]["culler"]
    assert data["alice"]["idle_seconds"] >= 0 and data["carol"]["gpu_share"] == "1 time-sliced share (4 per GPU)"
    table = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert [r["user"] for r in table] == ["alice", "bob", "carol", "dave"]
    assert table[3]["state"] == "stopped" and table[0]["url"] == "http://vnc.alice.ros.example.org/"
    assert kube.get("/api/v1/namespaces/%s/configmaps/desktop-culler-state" % CULLER_NS)
