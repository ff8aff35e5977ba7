"""The idle rules: a desktop is stopped only after idle_timeout in a row with no connection, no ROS process, CPU and
GPU below their thresholds; anything the culler cannot read keeps the desktop."""

import json

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import idle

NOW = 1_800_000_000.0
RULES, _problems = idle.policy({"idle_timeout": 600})


def report(time=NOW - 5, connections=None, ros=(), usage=1_000_000, percent=0.5, last_active=None):
    return {
        "version": 1,
        "time": time,
        "interval": 30,
        "connections": dict({"novnc": 0, "vnc": 0, "vscode": 0, "ssh": 0}, **(connections or {})),
        "ros": {"count": len(ros), "processes": [{"pid": 100 + i, "command": c} for i, c in enumerate(ros)]},
        "cpu": {"usage_usec": usage, "percent": percent},
        "last_active": last_active,
    }


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(3600, 3600), ("3600", 3600), ("90m", 5400), ("2h", 7200), ("1d", 86400), (" 45s ", 45), ("never", None)],
)
def test_timeouts_read(value, seconds):
    assert idle.parse_timeout(value) == (seconds, None)


@pytest.mark.parametrize("value", [0, -5, "0m", "soon", "1.5h", True, None, [60], "2 hours"])
def test_bad_timeouts_are_refused(value):
    seconds, problem = idle.parse_timeout(value)
    assert seconds is None and problem and "idle_timeout" in problem


def test_policy_defaults_settings_and_override():
    rules, problems = idle.policy()
    assert problems == [] and rules == idle.DEFAULT_POLICY
    rules, problems = idle.policy({"idle_timeout": "30m", "cpu_percent": 25}, idle_timeout="never")
    assert problems == [] and rules["idle_timeout"] is None and rules["cpu_percent"] == 25.0
    _rules, problems = idle.policy({"idle_timout": 5, "gpu_percent": -1}, idle_timeout="later")
    assert len(problems) == 3, problems


def test_first_look_at_an_idle_desktop_starts_its_idle_time():
    decision = idle.decide(NOW, RULES, report())
    assert decision["idle"] and not decision["stop"] and decision["idle_since"] == NOW
    assert decision["state"]["idle_since"] == NOW


def test_idle_for_the_whole_timeout_is_stopped():
    previous = idle.decide(NOW - 700, RULES, report(time=NOW - 705))["state"]
    decision = idle.decide(NOW, RULES, report(), previous=previous)
    assert decision["stop"], decision
    assert decision["idle_for"] == 700
    assert "idle for 11m40s" in decision["why"] and "stopped" in decision["why"]


def test_idle_but_not_yet_for_long_enough_is_kept():
    previous = idle.decide(NOW - 300, RULES, report(time=NOW - 305))["state"]
    decision = idle.decide(NOW, RULES, report(), previous=previous)
    assert decision["idle"] and not decision["stop"] and "5m00s of 10m00s" in decision["why"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"connections": {"novnc": 1}}, "1 noVNC connection"),
        ({"connections": {"vscode": 2}}, "2 VS Code connections"),
        ({"connections": {"ssh": 1}}, "1 SSH connection"),
        ({"connections": {"vnc": 1}}, "1 VNC connection"),
        ({"ros": ["/usr/bin/python3 /opt/ros/bin/roslaunch demo talker.launch", "rosmaster"]}, "ROS running: "),
        ({"percent": 55.0}, "CPU at 55% of a core"),
    ],
)
def test_any_activity_keeps_the_desktop_and_resets_its_idle_time(changes, words):
    previous = {"idle_since": NOW - 5000, "time": NOW - 300, "cpu_usage_usec": 1_000_000}
    decision = idle.decide(NOW, RULES, report(**changes), previous=previous)
    assert not decision["stop"] and not decision["idle"]
    assert words in decision["why"], decision["why"]
    assert decision["state"]["idle_since"] is None


def test_cpu_is_averaged_since_the_last_look():
    # 0.5 % in the report's last interval, but 120 s of CPU in the 300 s since the last look: 40 %
    previous = {"idle_since": NOW - 5000, "time": NOW - 300, "cpu_usage_usec": 1_000_000}
    decision = idle.decide(NOW, RULES, report(usage=121_000_000), previous=previous)
    assert not decision["stop"] and "CPU at 40%" in decision["why"]
    # a restarted container's counter starts again: no average from before it
    decision = idle.decide(NOW, RULES, report(usage=10), previous=previous)
    assert decision["stop"]


def test_busy_gpu_keeps_it_and_a_quiet_one_does_not():
    previous = {"idle_since": NOW - 5000, "time": NOW - 300}
    busy = idle.decide(NOW, RULES, report(), idle.read_gpu("87, 2048\n3, 10\n"), previous)
    assert not busy["stop"] and "GPU at 87%" in busy["why"]
    quiet = idle.decide(NOW, RULES, report(), idle.read_gpu("1, 300\n"), previous)
    assert quiet["stop"] and "GPU 1%" in quiet["why"]


def test_unreadable_gpu_use_keeps_it():
    gpu = idle.read_gpu("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    decision = idle.decide(NOW, RULES, report(), gpu, {"idle_since": NOW - 5000})
    assert not decision["stop"] and "GPU use unknown" in decision["why"]


@pytest.mark.parametrize(
    ("the_report", "problem", "words"),
    [
        (None, "the desktop has no activity report", "activity unknown: the desktop has no activity report"),
        (report(time=NOW - 3600), None, "the report is 3600 s old"),
    ],
)
def test_a_desktop_that_cannot_be_read_is_kept(the_report, problem, words):
    decision = idle.decide(NOW, RULES, the_report, previous={"idle_since": NOW - 5000}, problem=problem)
    assert not decision["stop"] and words in decision["why"]
    assert decision["state"]["idle_since"] is None


def test_activity_between_two_looks_counts():
    # the reporter saw a connection 100 s ago (between the culler's looks): idle only since then
    decision = idle.decide(NOW, RULES, report(last_active=NOW - 100), previous={"idle_since": NOW - 5000})
    assert not decision["stop"] and decision["idle_since"] == NOW - 100


def test_idle_time_never_counts_from_before_the_container_started():
    decision = idle.decide(NOW, RULES, report(), previous={"idle_since": NOW - 5000}, started_at=NOW - 60)
    assert not decision["stop"] and decision["idle_for"] == 60


def test_never_is_never_stopped():
    rules, _problems = idle.policy({"idle_timeout": 60}, idle_timeout="never")
    decision = idle.decide(NOW, rules, report(), previous={"idle_since": NOW - 86400})
    assert decision["idle"] and not decision["stop"] and "idle_timeout is never" in decision["why"]


def test_probe_output_is_read():
    text = json.dumps(report()) + "\n" + idle.GPU_MARKER + "\nnone\n"
    the_report, gpu, problem = idle.read_probe(text)
    assert the_report["version"] == 1 and gpu is None and problem is None
    the_report, gpu, problem = idle.read_probe("\n%s\n12, 100\n" % idle.GPU_MARKER)
    assert the_report is None and gpu["percent"] == 12.0 and "no activity report" in problem
    the_report, _gpu, problem = idle.read_probe('{"version": 7}\n' + idle.GPU_MARKER + "\nnone")
    assert the_report is None and "version 1" in problem
    the_report, _gpu, problem = idle.read_probe("garbage\n" + idle.GPU_MARKER + "\nnone")
    assert the_report is None and "not JSON" in problem


def test_probe_command_prints_the_marker():
    assert idle.GPU_MARKER in idle.PROBE_COMMAND[-1] and idle.PROBE_COMMAND[:2] == ["/bin/sh", "-c"]


@pytest.mark.parametrize(("seconds", "text"), [(7, "7s"), (125, "2m05s"), (3725, "1h02m"), (-3, "0s")])
def test_durations(seconds, text):
    assert idle.duration(seconds) == text
