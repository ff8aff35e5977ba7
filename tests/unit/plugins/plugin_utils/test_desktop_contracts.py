"""A desktop entry's keys are described once, in the spec package: both roles' argument_specs and the admin guide
list exactly those keys, and the one-desktop options the roles document are the spec's."""

import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import spec

REPO = Path(__file__).resolve().parents[4]
ROLES = ("cloud_desktop", "desktop_docker")


def entry_points(role):
    with open(REPO / "roles" / role / "meta" / "argument_specs.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)["argument_specs"]


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_list_the_spec_keys(role):
    for name, entry in entry_points(role).items():
        option = entry["options"]["desktop_users"]
        # listed as text: suboptions would make Ansible refuse an unknown key first, printing its whole spec
        assert "options" not in option, "%s %s" % (role, name)
        assert spec.keys_description() in option["description"], "%s %s: desktop_users lists other keys" % (
            role,
            name,
        )


def test_the_keys_line_names_every_key():
    line = spec.keys_description()
    assert [k.split(" ")[0] for k in line.split(": ", 1)[1].rstrip(".").split(", ")] == list(spec.KEY_NAMES)


@pytest.mark.parametrize(
    ("role", "entry", "target"), [("cloud_desktop", "one", "kubernetes"), ("desktop_docker", "main", "docker")]
)
def test_the_one_desktop_options_are_the_spec_options(role, entry, target):
    options = entry_points(role)[entry]["options"]
    documented = [name for name in options if not name.startswith(("cloud_desktop_", "desktop_docker_"))]
    documented += [name for name in spec.DEPRECATED_OPTIONS[target] if name in options and name not in documented]
    assert sorted(documented) == sorted(["desktop_users", *spec.option_names(target)])


def test_the_admin_guide_lists_every_key_once():
    text = (REPO / "docs" / "desktops.md").read_text()
    table = text.split("\n## Desktop entries\n", 1)[1].split("| key | target | default | meaning |\n", 1)[1]
    rows = [line for line in table.split("\n\n", 1)[0].splitlines() if line.startswith("| `")]
    listed = [key for line in rows for key in re.findall(r"`([a-z_]+)`", line.split("|")[1])]
    assert sorted(listed) == sorted(spec.KEY_NAMES), "docs/desktops.md, Desktop entries: %s" % listed
    for name, targets in ((k.name, k.targets) for k in spec.KEYS):
        row = next(line for line in rows if "`%s`" % name in line.split("|")[1])
        shown = row.split("|")[2].strip()
        assert shown == ("both" if targets == spec.BOTH else targets[0]), (name, shown)


def test_the_docker_guide_points_to_the_one_list():
    text = (REPO / "docs" / "desktop-docker.md").read_text()
    assert "desktops.md#desktop-entries" in text


def test_the_single_desktop_playbook_holds_no_logic():
    # the merge of the user's entry with this run's options is the role's (entry point `one`), not the playbook's
    with open(REPO / "playbooks" / "desktop.yml", encoding="utf-8") as f:
        (play,) = yaml.safe_load(f)
    assert "vars" not in play
    (task,) = play["tasks"]
    assert task["ansible.builtin.include_role"] == {"name": "roverlab.clouddesktop.cloud_desktop", "tasks_from": "one"}
    assert set(task) == {"name", "ansible.builtin.include_role"}
