"""A task's own `vars:` must not share a name with a fact or a registered result of its role.

Registered results and set_fact facts outrank task vars, so a task var of the same name is silently ignored
once the fact exists: cloud_desktop's issued Tailscale keys were read from plan.yml's registered hook result
that way, and every keyed desktop failed. Names that never meet in one run may share, each listed below with why.
"""

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ROLES = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/tasks/main.yml"))
SET_FACT = ("ansible.builtin.set_fact", "set_fact")

# (role, name) -> why the task var and the fact never meet in one run
SEPARATE_RUNS = {
    ("cloud_desktop", "_cloud_desktop_selection"): (
        "a fact of the one and backup entry points (their own playbooks); restore passes it as a task var only"
    ),
    ("nvidia_driver", "_nvidia_driver_module_source"): (
        "a fact on Ubuntu (signed modules or DKMS), a task var on Debian, which always builds with DKMS"
    ),
}


def names(tasks, found):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        for key in ("block", "rescue", "always"):
            names(task.get(key), found)
        if "register" in task:
            found["facts"].add(task["register"])
        for module in SET_FACT:
            if isinstance(task.get(module), dict):
                found["facts"].update(name for name in task[module] if name != "cacheable")
        if isinstance(task.get("vars"), dict):  # a task's or a block's own vars
            found["task_vars"].update(task["vars"])
    return found


@pytest.mark.parametrize("role", ROLES)
def test_no_task_var_is_hidden_by_a_fact(role):
    found = {"facts": set(), "task_vars": set()}
    for path in sorted((REPO / "roles" / role / "tasks").glob("*.yml")):
        names(yaml.safe_load(path.read_text()), found)
    shared = {name for name in found["task_vars"] & found["facts"] if (role, name) not in SEPARATE_RUNS}
    assert not shared, "task vars that a fact or registered result of %s outranks: %s" % (role, sorted(shared))


def test_every_exception_is_still_needed():
    for role, name in SEPARATE_RUNS:
        found = {"facts": set(), "task_vars": set()}
        for path in sorted((REPO / "roles" / role / "tasks").glob("*.yml")):
            names(yaml.safe_load(path.read_text()), found)
        assert name in found["task_vars"] & found["facts"], "%s: %s no longer shared, drop the exception" % (role, name)
