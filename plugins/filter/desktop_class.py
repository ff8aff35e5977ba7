# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for running a class: the idle culler's configuration, the roster, the status page."""

from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import idle, roster, status


def desktop_culler_config(users, rules, target, target_settings, dry_run=False, timeouts=None):
    """The culler's configuration (what desktop_culler.py reads) and the problems of the settings.

    ``users``: desktop_users (only ``name`` and ``idle_timeout`` are read; the desktop roles check the rest).
    ``rules``: {idle_timeout, cpu_percent, gpu_percent, report_max_age}. ``target``: kubernetes or docker;
    ``target_settings``: that target's section. ``timeouts``: {user: idle_timeout} for desktops that desktop_users
    does not declare (a roster's), and over it. Returns {problems, message, config}.
    """
    if target not in ("kubernetes", "docker") or not isinstance(target_settings, dict):
        raise AnsibleFilterError("desktop_culler_config needs a target (kubernetes or docker) and its settings")
    if not isinstance(rules, dict):
        raise AnsibleFilterError("desktop_culler_config: the rules must be a dict")
    _checked, problems = idle.policy(rules)
    overrides = {}
    if not isinstance(users, list):
        problems.append("desktop_users must be a list of dicts")
        users = []
    for entry in users:
        if not isinstance(entry, dict) or "idle_timeout" not in entry or not isinstance(entry.get("name"), str):
            continue
        _seconds, problem = idle.parse_timeout(entry["idle_timeout"])
        if problem:
            problems.append("desktop user %r: %s" % (entry["name"], problem))
        else:
            overrides[entry["name"]] = {"idle_timeout": entry["idle_timeout"]}
    if not isinstance(timeouts or {}, dict):
        problems.append("desktop_culler_timeouts must map users to timeouts ({alice: never})")
        timeouts = {}
    for name, value in sorted((timeouts or {}).items()):
        _seconds, problem = idle.parse_timeout(value)
        if problem:
            problems.append("desktop_culler_timeouts[%s]: %s" % (name, problem))
        else:
            overrides[str(name)] = {"idle_timeout": value}
    config = {
        "version": 1,
        "target": target,
        "dry_run": bool(dry_run),
        # as given (2h, never): the runner reads them with the same rules
        "policy": dict(rules),
        "desktops": overrides,
        target: target_settings,
    }
    message = ""
    if problems:
        message = "%d problem(s) in the idle culler's settings, nothing was changed:\n- %s" % (
            len(problems),
            "\n- ".join(problems),
        )
    return {"problems": problems, "message": message, "config": config}


def desktop_roster_check(text, settings, sizes, default_size="", inventory_users=None, previous=None):
    """Read a CSV roster into desktop entries; every bad row is returned (not raised) with its line number.

    See plugins/plugin_utils/_desktop/roster.py; ``settings`` are cloud_desktop's (as for desktop_check).
    """
    if not isinstance(settings, dict):
        raise AnsibleFilterError("desktop_roster_check needs cloud_desktop's settings as a dict")
    if previous is not None and not isinstance(previous, dict):
        raise AnsibleFilterError("desktop_roster_check: the previous roster state must be a dict")
    return roster.check(text, settings, sizes, default_size, inventory_users or (), previous)


def desktop_roster_gpus(result, nodes, pods, resource="nvidia.com/gpu", user_label="clouddesktop.roverlab.io/user"):
    """Add to a roster check the rows whose GPUs fit no node of the cluster (with their line numbers)."""
    if not isinstance(result, dict) or "gpu_rows" not in result:
        raise AnsibleFilterError("desktop_roster_gpus needs the result of desktop_roster_check")
    return roster.check_gpus(result, nodes or [], pods or [], resource, user_label)


def desktop_roster_state(result, previous=None, backups=None, purged=False, roster_name="", backup_enabled=True):
    """The roster state to keep for the next run (who the roster manages, who left and where their backup is)."""
    if not isinstance(result, dict) or "removed" not in result:
        raise AnsibleFilterError("desktop_roster_state needs the result of desktop_roster_check")
    return roster.next_state(result, previous or {}, backups or {}, bool(purged), roster_name, bool(backup_enabled))


def desktop_status_rows(rows, culler_state=None, now=None, gpu_replicas=1):
    """desktop_rows with the idle culler's view (idle time, why it was stopped) and each GPU desktop's share."""
    if not isinstance(rows, list):
        raise AnsibleFilterError("desktop_status_rows needs the rows of desktop_rows")
    return status.rows(rows, culler_state, now, gpu_replicas)


def desktop_robot_launches(results, robots=None):
    """Each robot's running launches, from [{robot, reachable, launches}] as the robots reported them; a robot of
    ``robots`` that reported nothing was not reachable."""
    if not isinstance(results, list):
        raise AnsibleFilterError("desktop_robot_launches needs a list of {robot, reachable, launches}")
    return status.launches(results, robots)


def desktop_csv(rows, columns=None):
    """Rows as CSV text with a header line."""
    if not isinstance(rows, list):
        raise AnsibleFilterError("desktop_csv needs a list of rows")
    return status.to_csv(rows, columns or status.CSV_COLUMNS)


def desktop_status_html(rows, robots=None, title="Cloud desktops", generated=None):
    """The status page: one self-contained HTML document (no script, no outside link)."""
    if not isinstance(rows, list):
        raise AnsibleFilterError("desktop_status_html needs the rows of desktop_status_rows")
    return status.to_html(rows, robots, title, generated)


class FilterModule:
    def filters(self):
        return {
            "desktop_culler_config": desktop_culler_config,
            "desktop_roster_check": desktop_roster_check,
            "desktop_roster_gpus": desktop_roster_gpus,
            "desktop_roster_state": desktop_roster_state,
            "desktop_status_rows": desktop_status_rows,
            "desktop_robot_launches": desktop_robot_launches,
            "desktop_csv": desktop_csv,
            "desktop_status_html": desktop_status_html,
        }
