# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for running a class: the idle culler's configuration, the roster, the status page."""

from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import idle


def desktop_culler_config(users, rules, target, target_settings, dry_run=False):
    """The culler's configuration (what desktop_culler.py reads) and the problems of the settings.

    ``users``: desktop_users (only ``name`` and ``idle_timeout`` are read; the desktop roles check the rest).
    ``rules``: {idle_timeout, cpu_percent, gpu_percent, report_max_age}. ``target``: kubernetes or docker;
    ``target_settings``: that target's section. Returns {problems, message, config}.
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


class FilterModule:
    def filters(self):
        return {
            "desktop_culler_config": desktop_culler_config,
        }
