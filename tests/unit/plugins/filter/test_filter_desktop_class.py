"""The class filters as playbooks call them: the culler's checked configuration, and refusals of bad input."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.filter import desktop_class

RULES = {"idle_timeout": "2h", "cpu_percent": "10", "gpu_percent": 5, "report_max_age": 300}


def test_culler_config_takes_the_entries_and_roster_timeouts():
    users = [{"name": "alice", "idle_timeout": "never"}, {"name": "bob"}, "not a dict"]
    result = desktop_class.desktop_culler_config(
        users, RULES, "docker", {"socket": "/s"}, True, {"carol": 600, "alice": "30m"}
    )
    assert result["problems"] == [] and result["message"] == ""
    assert result["config"] == {
        "version": 1,
        "target": "docker",
        "dry_run": True,
        "policy": RULES,
        "desktops": {"alice": {"idle_timeout": "30m"}, "carol": {"idle_timeout": 600}},
        "docker": {"socket": "/s"},
    }


def test_culler_config_reports_every_problem_at_once():
    users = [{"name": "alice", "idle_timeout": "soon"}, {"name": "bob", "idle_timeout": 0}]
    result = desktop_class.desktop_culler_config(
        users, dict(RULES, cpu_percent="lots"), "kubernetes", {}, False, {"carol": -1}
    )
    assert result["message"].startswith("4 problem(s) in the idle culler's settings, nothing was changed:")
    assert "desktop user 'alice': idle_timeout 'soon' must be seconds" in result["message"]
    assert "desktop_culler_timeouts[carol]: idle_timeout -1 must be more than 0" in result["message"]
    assert "cpu_percent 'lots' must be a number" in result["message"]


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (desktop_class.desktop_culler_config, ([], RULES, "podman", {})),
        (desktop_class.desktop_roster_check, ("user\n", "not settings", {})),
        (desktop_class.desktop_roster_gpus, ({}, [], [])),
        (desktop_class.desktop_status_rows, ("rows",)),
        (desktop_class.desktop_csv, ({},)),
        (desktop_class.desktop_status_html, (None,)),
        (desktop_class.desktop_robot_launches, ({},)),
        (desktop_class.desktop_roster_state, ({},)),
    ],
)
def test_bad_calls_are_refused(call, args):
    with pytest.raises(AnsibleFilterError):
        call(*args)
