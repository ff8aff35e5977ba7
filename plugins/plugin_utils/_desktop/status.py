# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktops' status for people: rows with idle time and GPU share, as CSV, and as one self-contained HTML page.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

The page is written by desktop_list on the controller (not served from the cluster): the controller is the one
place that reaches both the cluster (admin credentials) and the robots (SSH, for their running launches), and a
file readable only by the admin needs no login page, no ingress route and no in-cluster credentials that could
read every desktop. It has no script and no outside link, so it opens from a disk, a mail or a shared folder.
"""

import csv
import html
import io
import json
import os
import time

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import idle

COLUMNS = (
    ("user", "User"),
    ("tier", "Tier"),
    ("state", "State"),
    ("node", "Node"),
    ("gpu", "GPU"),
    ("idle", "Idle"),
    ("url", "Desktop URL"),
)
CSV_COLUMNS = (
    "user",
    "tier",
    "namespace",
    "state",
    "phase",
    "node",
    "cpu",
    "memory",
    "gpu",
    "gpu_share",
    "idle_seconds",
    "idle",
    "culler",
    "url",
    "code_url",
)


def rows(desktop_rows, culler_state=None, now=None, gpu_replicas=1):
    """desktop_rows (filter desktop_rows) with what the idle culler saw and each GPU desktop's share of a card.

    ``culler_state``: the culler's state (its ConfigMap's state.json, as text or data), or None. ``gpu_replicas``:
    how many desktops share one GPU (gpu_device_plugin's time-slicing replicas; 1 without time-slicing).
    """
    now = time.time() if now is None else float(now)
    seen = _culler_desktops(culler_state)
    replicas = max(1, int(gpu_replicas or 1))
    result = []
    for row in desktop_rows or []:
        row = dict(row)
        key = "%s/%s" % (row.get("namespace"), row.get("user"))
        look = seen.get(key) or {}
        stopped = (row.get("phase") or "") == "Stopped"
        row["state"] = "stopped" if stopped else (row.get("phase") or "").split(" (")[0].lower() or "unknown"
        row["idle_seconds"], row["idle"], row["culler"] = None, "", ""
        if stopped and look.get("stopped_at"):
            row["culler"] = "stopped by the idle culler %s ago: %s" % (
                idle.duration(now - float(look["stopped_at"])),
                look.get("why") or "",
            )
            row["idle"] = "stopped by the culler"
        elif not stopped and look.get("idle_since") is not None:
            row["idle_seconds"] = int(max(0, now - float(look["idle_since"])))
            row["idle"] = idle.duration(row["idle_seconds"])
            row["culler"] = look.get("why") or ""
        elif not stopped and look:
            row["idle"] = "busy"
            row["culler"] = look.get("why") or ""
        gpus = int(row.get("gpu") or 0)
        row["gpu_share"] = ""
        if gpus and replicas > 1:
            row["gpu_share"] = "%d time-sliced share%s (%d per GPU)" % (gpus, "" if gpus == 1 else "s", replicas)
        result.append(row)
    return result


def _culler_desktops(state):
    if isinstance(state, str):
        try:
            state = json.loads(state) if state.strip() else {}
        except ValueError:
            state = {}
    return (state or {}).get("desktops") or {}


def to_csv(data, columns=CSV_COLUMNS):
    """Rows as CSV text with a header line (RFC 4180 quoting, \\r\\n line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in data or []:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue()


def launches(robot_results, expected=None):
    """[{robot, reachable, launches [{name, state, pid, uptime}]}] from what each robot reported, by robot.

    A launch is {name, state, pid, uptime}, or the ros_launch module's status result of a loop over the launches'
    directories (the name is then the directory's, ``item.path``). A robot of ``expected`` that reported nothing
    was not reachable."""
    found = []
    for item in robot_results or []:
        running = [
            {
                "name": launch.get("name") or os.path.basename(str((launch.get("item") or {}).get("path") or "")),
                "state": launch.get("state", ""),
                "pid": launch.get("pid") or "",
                "uptime": idle.duration(launch.get("uptime") or 0) if launch.get("uptime") else "",
            }
            for launch in item.get("launches") or []
            if launch.get("state") in ("running", "restarting", "starting")
        ]
        found.append(
            {"robot": item.get("robot", ""), "reachable": bool(item.get("reachable", True)), "launches": running}
        )
    reported = {r["robot"] for r in found}
    found.extend({"robot": name, "reachable": False, "launches": []} for name in expected or () if name not in reported)
    return sorted(found, key=lambda r: r["robot"])


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1d2733; background: #f7f9fb; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.5em 0 .5em; }
p.meta { color: #5a6978; margin: 0 0 1em; }
table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 2px #0002; }
th, td { padding: .35em .8em; border-bottom: 1px solid #e3e8ee; text-align: left; font-size: .92em; }
th { background: #2b3a4a; color: #fff; font-weight: 600; }
td.state { font-weight: 600; } tr.running td.state { color: #1b7f3b; } tr.stopped td.state { color: #8a5a00; }
tr.pending td.state, tr.unknown td.state { color: #b3261e; }
td.why { color: #5a6978; font-size: .85em; max-width: 28em; }
span.count { display: inline-block; margin-right: 1.2em; }
"""


def to_html(data, robots=None, title="Cloud desktops", generated=None):
    """One page: a summary line, the desktops' table, each robot's running launches. Everything is escaped."""
    generated = generated or time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    states = {}
    for row in data or []:
        states[row.get("state") or "unknown"] = states.get(row.get("state") or "unknown", 0) + 1
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>%s</title>" % e(title),
        "<style>%s</style></head><body>" % _STYLE,
        "<h1>%s</h1>" % e(title),
        '<p class="meta">Written %s by roverlab.clouddesktop.desktop_list. %s</p>'
        % (
            e(generated),
            " ".join(
                '<span class="count">%d %s</span>' % (n, e(s)) for s, n in sorted(states.items(), key=lambda i: i[0])
            )
            or "No desktops.",
        ),
        '<h2>Desktops</h2><table id="desktops"><thead><tr>%s<th>Why</th></tr></thead><tbody>'
        % "".join("<th>%s</th>" % e(t) for _k, t in COLUMNS),
    ]
    for row in data or []:
        cells = []
        for key, _title in COLUMNS:
            value = "" if row.get(key) is None else str(row.get(key))
            if key == "url" and value:
                cells.append('<td class="url"><a href="%s">%s</a></td>' % (e(value), e(value)))
            elif key == "gpu" and row.get("gpu_share"):
                cells.append('<td class="gpu">%s<br><small>%s</small></td>' % (e(value), e(row["gpu_share"])))
            else:
                cells.append('<td class="%s">%s</td>' % (key, e(value or "-")))
        cells.append('<td class="why">%s</td>' % e(row.get("culler") or ""))
        parts.append(
            '<tr class="%s" data-user="%s">%s</tr>'
            % (e(row.get("state") or "unknown"), e(row.get("user", "")), "".join(cells))
        )
    parts.append("</tbody></table>")
    if robots is not None:
        parts.append('<h2>Robots: running launches</h2><table id="robots"><thead><tr>')
        parts.append("<th>Robot</th><th>Launch</th><th>State</th><th>PID</th><th>Up</th></tr></thead><tbody>")
        for robot in robots:
            if not robot["reachable"]:
                parts.append(
                    '<tr class="unknown"><td>%s</td><td colspan="4">not reachable</td></tr>' % e(robot["robot"])
                )
            elif not robot["launches"]:
                parts.append('<tr><td>%s</td><td colspan="4">no launch running</td></tr>' % e(robot["robot"]))
            for launch in robot["launches"]:
                parts.append(
                    '<tr class="running" data-robot="%s"><td>%s</td><td>%s</td><td class="state">%s</td><td>%s</td>'
                    "<td>%s</td></tr>"
                    % (
                        e(robot["robot"]),
                        e(robot["robot"]),
                        e(launch["name"]),
                        e(launch["state"]),
                        e(str(launch["pid"])),
                        e(launch["uptime"]),
                    )
                )
        parts.append("</tbody></table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
