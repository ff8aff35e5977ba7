"""The status page's data: idle time and the culler's reasons from its state, GPU shares, CSV, robots' launches, and
an HTML page that escapes everything and needs nothing from outside."""

import csv
import io
import json

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import status

NOW = 1_800_000_000.0


def row(user, phase="Running", gpu="0", namespace="clouddesktop-prod"):
    return {
        "user": user,
        "namespace": namespace,
        "tier": "prod",
        "url": "http://vnc.%s.ros.example.org/" % user,
        "code_url": "http://code.%s.ros.example.org/" % user,
        "node": "rover1" if phase == "Running" else "",
        "cpu": "2-4",
        "memory": "4Gi-8Gi",
        "gpu": gpu,
        "phase": phase,
    }


STATE = {
    "version": 1,
    "time": NOW - 10,
    "desktops": {
        "clouddesktop-prod/alice": {"idle_since": NOW - 1830, "why": "idle for 30m20s of 1h00m00s"},
        "clouddesktop-prod/bob": {"idle_since": None, "why": "busy: ROS running: roslaunch demo talker.launch"},
        "clouddesktop-prod/carol": {"stopped_at": NOW - 7200, "why": "idle for 1h00m05s (...): stopped"},
    },
}


def test_rows_show_idle_time_busy_and_culled():
    rows = status.rows(
        [row("alice"), row("bob", gpu="1"), row("carol", phase="Stopped"), row("dave", phase="Pending (x)")],
        json.dumps(STATE),
        NOW,
        gpu_replicas=4,
    )
    by_user = {r["user"]: r for r in rows}
    assert by_user["alice"]["idle"] == "30m30s" and by_user["alice"]["idle_seconds"] == 1830
    assert by_user["bob"]["idle"] == "busy" and "ROS running" in by_user["bob"]["culler"]
    assert by_user["bob"]["gpu_share"] == "1 time-sliced share (4 per GPU)"
    assert by_user["carol"]["state"] == "stopped" and by_user["carol"]["idle"] == "stopped by the culler"
    assert by_user["carol"]["culler"].startswith("stopped by the idle culler 2h00m ago: idle for 1h00m05s")
    assert by_user["dave"]["state"] == "pending" and by_user["dave"]["idle"] == ""
    assert status.rows([row("alice")], None, NOW)[0]["idle"] == ""


def test_csv_has_a_header_and_quotes():
    rows = status.rows([row("alice"), dict(row("bob"), phase='Pending (Unschedulable: "x", y)')], STATE, NOW)
    text = status.to_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [r["user"] for r in parsed] == ["alice", "bob"]
    assert parsed[1]["phase"] == 'Pending (Unschedulable: "x", y)'
    assert parsed[0]["idle_seconds"] == "1830" and parsed[1]["idle_seconds"] == ""
    assert text.splitlines()[0].split(",") == list(status.CSV_COLUMNS)


def test_robot_launches_keep_the_running_ones():
    robots = status.launches(
        [
            {"robot": "robot2", "reachable": False, "launches": []},
            {
                "robot": "robot1",
                "launches": [
                    {"name": "alice.bringup", "state": "running", "pid": 4242, "uptime": 125.2},
                    {"name": "old", "state": "exited", "pid": 0},
                ],
            },
        ]
    )
    assert robots == [
        {
            "robot": "robot1",
            "reachable": True,
            "launches": [{"name": "alice.bringup", "state": "running", "pid": 4242, "uptime": "2m05s"}],
        },
        {"robot": "robot2", "reachable": False, "launches": []},
    ]


def test_html_page_is_self_contained_and_escaped():
    rows = status.rows([row("alice"), dict(row("eve"), user="<script>alert(1)</script>")], STATE, NOW, 1)
    page = status.to_html(rows, [{"robot": "r1", "reachable": True, "launches": []}], generated="then")
    assert page.startswith("<!DOCTYPE html>") and "<script>" not in page and "&lt;script&gt;" in page
    assert 'data-user="alice"' in page and "30m30s" in page and "no launch running" in page
    assert "http://vnc.alice.ros.example.org/" in page
    # nothing the page loads from elsewhere
    assert "<link" not in page and " src=" not in page and "@import" not in page
    assert 'id="robots"' not in status.to_html(rows, None)


def test_robot_launches_from_module_results():
    results = [
        {"item": {"path": "/home/ros/.ros/roverlab_launch/launches/alice.bringup"}, "state": "running", "pid": 7},
        {"item": {"path": "/x/launches/old"}, "state": "exited", "pid": 0, "changed": False},
    ]
    robots = status.launches([{"robot": "r1", "reachable": True, "launches": results}])
    assert robots == [
        {
            "robot": "r1",
            "reachable": True,
            "launches": [{"name": "alice.bringup", "state": "running", "pid": 7, "uptime": ""}],
        }
    ]
