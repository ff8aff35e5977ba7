# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When a desktop is idle: the one set of rules of the idle culler, for Kubernetes and for Docker hosts.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax, and no import from the
collection: the desktop_culler role ships this file unchanged next to its runner (desktop_culler.py) into the
cluster (a ConfigMap mounted into the culler's CronJob) and onto Docker hosts (run by a systemd timer). The
controller uses the same file for the checks of ``idle_timeout`` (spec.py) and for the status page.

A desktop is idle only when, for ``idle_timeout`` seconds in a row, all of these held at every look:
  - no VNC/noVNC, VS Code or SSH connection from outside the desktop,
  - no ROS process started from the desktop (roscore, roslaunch, rosrun, rostopic, a node ...; a roslaunch that
    starts nodes on a robot with <machine> tags runs in the desktop and counts),
  - CPU use below ``cpu_percent`` (percent of one core) and GPU use below ``gpu_percent``.
What the desktop does is read from its activity report (the desktop image writes /run/desktop/activity.json,
format version 1: roles/desktop_image/README.md) and, for the GPU, from ``nvidia-smi`` inside the desktop. A
desktop whose report cannot be read, or is stale, or whose GPU use cannot be read, is never idle: the culler
stops only what it has seen doing nothing.
"""

import json
import re

REPORT_VERSION = 1
NEVER = "never"
DEFAULT_POLICY = {
    "idle_timeout": 3600,  # seconds; None: never
    "cpu_percent": 10.0,  # of one core, averaged since the last look (and over the report's last interval)
    "gpu_percent": 5.0,  # utilisation of the busiest GPU the desktop sees
    "report_max_age": 300,  # seconds; an older report means the reporter is not running
}
CONNECTION_NAMES = {"novnc": "noVNC", "vnc": "VNC", "vscode": "VS Code", "ssh": "SSH"}
# What the probe prints between the report and nvidia-smi's lines (PROBE_COMMAND).
GPU_MARKER = "--roverlab-gpu--"
# One command run inside the desktop (exec): the report, then the GPU reading, or "none" without nvidia-smi.
PROBE_COMMAND = [
    "/bin/sh",
    "-c",
    "cat /run/desktop/activity.json 2>/dev/null; echo; echo %s; "
    "if command -v nvidia-smi >/dev/null 2>&1; then "
    "nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits 2>&1 || echo error; "
    "else echo none; fi" % GPU_MARKER,
]
_DURATION_RE = re.compile(r"(\d+)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_timeout(value):
    """(seconds or None for never, problem or None) of an ``idle_timeout``: 3600, "90m", "2h", "1d", "never"."""
    if isinstance(value, bool):
        return None, "idle_timeout %r must be seconds (3600), a duration (90m, 2h) or never" % (value,)
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and value.strip().lower() == NEVER:
        return None, None
    elif isinstance(value, str) and _DURATION_RE.fullmatch(value.strip().lower()):
        number, unit = _DURATION_RE.fullmatch(value.strip().lower()).groups()
        seconds = int(number) * _UNITS[unit]
    else:
        return None, "idle_timeout %r must be seconds (3600), a duration (90m, 2h) or never" % (value,)
    if seconds <= 0:
        return None, "idle_timeout %r must be more than 0 (or never)" % (value,)
    return seconds, None


def policy(settings=None, idle_timeout=None):
    """(policy, problems): DEFAULT_POLICY with ``settings`` over it, then a desktop's own ``idle_timeout``."""
    result, problems = dict(DEFAULT_POLICY), []
    for key, value in (settings or {}).items():
        if key not in DEFAULT_POLICY:
            problems.append("unknown culler setting %r (known: %s)" % (key, ", ".join(sorted(DEFAULT_POLICY))))
        elif key == "idle_timeout":
            result[key], problem = parse_timeout(value)
            if problem:
                problems.append(problem)
        else:
            number = _number(value)
            if number is None or number < 0:
                problems.append("%s %r must be a number, 0 or more" % (key, value))
            else:
                result[key] = number
    if idle_timeout is not None:
        result["idle_timeout"], problem = parse_timeout(idle_timeout)
        if problem:
            problems.append(problem)
    return result, problems


def _number(value):
    """A float from a number or from its text (-e values arrive as text), else None."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def read_probe(text):
    """(report or None, gpu, problem) from the output of PROBE_COMMAND.

    ``gpu``: None when the desktop has no nvidia-smi, else {"percent": busiest GPU or None, "memory_mib": [..],
    "error": text or None}.
    """
    text = text or ""
    report_text, _marker, gpu_text = text.partition(GPU_MARKER)
    report, problem = None, None
    if not report_text.strip():
        problem = "the desktop has no activity report (/run/desktop/activity.json)"
    else:
        try:
            report = json.loads(report_text)
        except ValueError:
            problem = "the activity report is not JSON"
        else:
            if not isinstance(report, dict) or report.get("version") != REPORT_VERSION:
                report, problem = None, "the activity report is not of version %d" % REPORT_VERSION
    return report, read_gpu(gpu_text), problem


def read_gpu(text):
    """nvidia-smi's "utilization.gpu, memory.used" lines (csv, noheader, nounits) as the probe prints them."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if not lines or lines == ["none"]:
        return None
    percents, memory = [], []
    for line in lines:
        fields = [f.strip() for f in line.split(",")]
        try:
            percents.append(float(fields[0]))
            memory.append(float(fields[1]) if len(fields) > 1 else 0.0)
        except ValueError:
            return {"percent": None, "memory_mib": [], "error": "nvidia-smi: %s" % " ".join(lines)[:200]}
    return {"percent": max(percents), "memory_mib": memory, "error": None}


def decide(now, rules, report, gpu=None, previous=None, started_at=None, problem=None):
    """Whether to stop a running desktop now, and why.

    ``now``: Unix time of this look. ``rules``: a policy (see ``policy``). ``report``: the desktop's activity
    report (a dict of version 1) or None when it could not be read (``problem`` says why). ``gpu``: from
    ``read_gpu``. ``previous``: the ``state`` this function returned at the last look (None at the first).
    ``started_at``: when the desktop's container started (idle time never counts from before it).

    Returns {"stop": bool, "idle": bool, "idle_since": time or None, "idle_for": seconds, "busy": [why busy],
    "why": one line for the log and the event, "state": what to keep for the next look}.
    """
    previous = previous or {}
    busy = []
    cpu_percent = None
    if report is None:
        busy.append("activity unknown: %s" % (problem or "no report"))
    elif now - float(report.get("time") or 0) > rules["report_max_age"]:
        busy.append("activity unknown: the report is %d s old (its reporter does not run)" % (now - report["time"]))
    else:
        busy.extend(_connections(report))
        busy.extend(_ros(report))
        cpu_percent = _cpu_percent(now, report, previous)
        if cpu_percent is not None and cpu_percent >= rules["cpu_percent"]:
            busy.append("CPU at %s of a core (threshold %s)" % (_percent(cpu_percent), _percent(rules["cpu_percent"])))
    if gpu is not None:
        if gpu.get("error") or gpu.get("percent") is None:
            busy.append("GPU use unknown (%s)" % (gpu.get("error") or "no reading"))
        elif gpu["percent"] >= rules["gpu_percent"]:
            busy.append("GPU at %s (threshold %s)" % (_percent(gpu["percent"]), _percent(rules["gpu_percent"])))

    state = {"time": now, "cpu_usage_usec": ((report or {}).get("cpu") or {}).get("usage_usec")}
    if busy:
        state["idle_since"] = None
        return _result(False, False, None, 0, busy, "busy: " + "; ".join(busy), state)

    # idle now: since the last look that saw it busy, and never before the last activity the report saw
    # between two looks (a connection or ROS process), nor before the container started
    since = previous.get("idle_since")
    since = now if since is None else float(since)
    for moment in (report.get("last_active"), started_at):
        if moment is not None:
            since = max(since, min(float(moment), now))
    state["idle_since"] = since
    idle_for = now - since
    quiet = "no connection, no ROS process, CPU %s, GPU %s" % (
        _percent(cpu_percent) if cpu_percent is not None else "not measured yet",
        _percent(gpu["percent"]) if gpu else "none",
    )
    if rules["idle_timeout"] is None:
        return _result(
            False,
            True,
            since,
            idle_for,
            [],
            "idle for %s (%s); idle_timeout is never" % (duration(idle_for), quiet),
            state,
        )
    if idle_for >= rules["idle_timeout"]:
        why = "idle for %s (%s), idle_timeout %s: stopped" % (
            duration(idle_for),
            quiet,
            duration(rules["idle_timeout"]),
        )
        return _result(True, True, since, idle_for, [], why, state)
    why = "idle for %s of %s (%s)" % (duration(idle_for), duration(rules["idle_timeout"]), quiet)
    return _result(False, True, since, idle_for, [], why, state)


def _result(stop, idle, since, idle_for, busy, why, state):
    return {
        "stop": stop,
        "idle": idle,
        "idle_since": since,
        "idle_for": idle_for,
        "busy": busy,
        "why": why,
        "state": state,
    }


def _connections(report):
    found = []
    for key, count in sorted((report.get("connections") or {}).items()):
        if isinstance(count, int) and count > 0:
            found.append("%d %s connection%s" % (count, CONNECTION_NAMES.get(key, key), "" if count == 1 else "s"))
    return found


def _ros(report):
    ros = report.get("ros") or {}
    count = ros.get("count") or 0
    if not count:
        return []
    commands = [p.get("command", "") for p in ros.get("processes") or []]
    shown = commands[0][:80] if commands else "?"
    more = " (+%d more)" % (count - 1) if count > 1 else ""
    return ["ROS running: %s%s" % (shown, more)]


def _percent(value):
    """A percentage as the log shows it: "12%"."""
    return "%.0f%%" % value


def _cpu_percent(now, report, previous):
    """The higher of the report's last interval and the average since the culler's last look (percent of a core)."""
    cpu = report.get("cpu") or {}
    readings = []
    if isinstance(cpu.get("percent"), (int, float)):
        readings.append(float(cpu["percent"]))
    usage, before, then = cpu.get("usage_usec"), previous.get("cpu_usage_usec"), previous.get("time")
    if isinstance(usage, int) and isinstance(before, int) and then is not None and usage >= before and now > then:
        readings.append(100.0 * (usage - before) / 1e6 / (now - float(then)))
    return max(readings) if readings else None


def duration(seconds):
    """3725 -> '1h02m', 125 -> '2m05s', 7 -> '7s'."""
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return "%dh%02dm" % (hours, minutes)
    if minutes:
        return "%dm%02ds" % (minutes, secs)
    return "%ds" % secs
