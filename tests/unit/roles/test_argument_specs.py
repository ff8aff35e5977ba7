"""Every role's meta/argument_specs.yml is the one description of its inputs, and agrees with defaults/main.yml.

For each role: meta/main.yml and meta/argument_specs.yml exist; every public variable of defaults/main.yml is an
option of the main entry point; every option of any entry point that has a value in defaults/main.yml states that
value as its `default:`, and `ansible-doc -t role` prints it; a literal default fits its option's type and choices;
an option whose default is an expression has a type that can show it (str, path or raw); an option of the main
entry point without a default is private (`_name`), required, or a variable the role reads from outside (EXTERNAL
below, with why); and no option states a default that defaults/main.yml lacks.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import spec as desktop_spec

REPO = Path(__file__).resolve().parents[3]
ROLES = sorted(p.parent.parent.name for p in (REPO / "roles").glob("*/tasks/main.yml"))

# Options a role documents but does not default itself: (role, option) -> where the value comes from.
EXTERNAL = {
    ("k3s", "roverlab_kubeconfig"): "the collection-wide kubeconfig path, set in inventories (group_vars/all)",
}
# The desktop roles' one-desktop options (-e user=alice -e state=stopped ...), named like the keys of a desktop
# entry: given on the command line, listed once in the desktop spec (plugins/plugin_utils/_desktop/spec.py).
EXTERNAL.update(
    {
        (role, name): "a one-desktop run's -e option (the desktop spec's option_names)"
        for role, target in (("cloud_desktop", desktop_spec.KUBERNETES), ("desktop_docker", desktop_spec.DOCKER))
        for name in desktop_spec.option_names(target)
    }
)


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def role_defaults(role):
    path = REPO / "roles" / role / "defaults" / "main.yml"
    return load(path) if path.exists() else {}


def entry_points(role):
    return load(REPO / "roles" / role / "meta" / "argument_specs.yml").get("argument_specs") or {}


def templated(value):
    """True when a default is (or holds) a Jinja expression, whose type only shows once it is rendered."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(templated(v) for v in value.values())
    if isinstance(value, list):
        return any(templated(v) for v in value)
    return False


def test_every_role_is_found():
    assert "nvidia_container_toolkit" in ROLES and "common" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_role_has_meta(role):
    meta = REPO / "roles" / role / "meta"
    assert (meta / "main.yml").is_file(), "%s has no meta/main.yml" % role
    assert (meta / "argument_specs.yml").is_file(), "%s has no meta/argument_specs.yml" % role
    galaxy_info = load(meta / "main.yml").get("galaxy_info") or {}
    for key in ("author", "description", "license", "min_ansible_version", "platforms"):
        assert galaxy_info.get(key), "%s: meta/main.yml galaxy_info lacks %s" % (role, key)
    assert "main" in entry_points(role), "%s: meta/argument_specs.yml has no main entry point" % role


@pytest.mark.parametrize("role", ROLES)
def test_every_public_default_is_an_option_of_main(role):
    public = {name for name in role_defaults(role) if not name.startswith("_")}
    options = set((entry_points(role).get("main") or {}).get("options") or {})
    missing = sorted(public - options)
    assert not missing, "%s: defaults/main.yml variables missing from the main entry point's options: %s" % (
        role,
        ", ".join(missing),
    )


@pytest.mark.parametrize("role", ROLES)
def test_option_defaults_equal_defaults_main(role):
    defaults = role_defaults(role)
    wrong = []
    for entry, spec in entry_points(role).items():
        for name, option in (spec.get("options") or {}).items():
            if name not in defaults:
                continue
            if defaults[name] is None and option.get("default") is None:
                continue  # a null default reads the same either way
            if "default" not in option:
                wrong.append("%s.%s: no default (defaults/main.yml: %r)" % (entry, name, defaults[name]))
            elif option["default"] != defaults[name]:
                wrong.append(
                    "%s.%s: default %r, defaults/main.yml %r" % (entry, name, option["default"], defaults[name])
                )
    assert not wrong, "%s: argument_specs and defaults/main.yml disagree:\n  %s" % (role, "\n  ".join(wrong))


@pytest.mark.parametrize("role", ROLES)
def test_options_without_defaults_are_explained(role):
    # main's inputs all have a default in defaults/main.yml (null where unset means something); another entry
    # point (tasks_from) may take optional inputs that are simply unset, but never claims a default it lacks
    defaults = role_defaults(role)
    unexplained = []
    for entry, spec in entry_points(role).items():
        for name, option in (spec.get("options") or {}).items():
            if name in defaults or name.startswith("_") or option.get("required") or (role, name) in EXTERNAL:
                continue
            if option.get("default") is not None:
                unexplained.append("%s.%s: default %r that defaults/main.yml lacks" % (entry, name, option["default"]))
            elif entry == "main":
                unexplained.append("%s.%s: neither in defaults/main.yml nor required" % (entry, name))
    assert not unexplained, "%s:\n  %s" % (role, "\n  ".join(unexplained))


@pytest.mark.parametrize("role", ROLES)
def test_literal_defaults_fit_their_type(role):
    defaults = role_defaults(role)
    errors = []
    for entry, spec in entry_points(role).items():
        for name, option in (spec.get("options") or {}).items():
            if name not in defaults or defaults[name] is None or templated(defaults[name]):
                continue
            # validate the value alone against the option alone (no required/default handling)
            single = {key: value for key, value in option.items() if key not in ("description", "default")}
            result = ArgumentSpecValidator({name: single}).validate({name: defaults[name]})
            errors.extend("%s.%s: %s" % (entry, name, message) for message in result.error_messages)
    assert not errors, "%s: defaults that do not fit their option:\n  %s" % (role, "\n  ".join(errors))


@pytest.mark.parametrize("role", ROLES)
def test_templated_defaults_have_a_type_that_holds_them(role):
    # a bool, number, list or dict option cannot document an expression: antsibull-docs refuses it (bool) or shows
    # it as a one-item list (list); such options are type raw, and their description says what they hold
    defaults = role_defaults(role)
    wrong = [
        "%s.%s (type %s)" % (entry, name, option.get("type", "str"))
        for entry, spec in entry_points(role).items()
        for name, option in (spec.get("options") or {}).items()
        if name in defaults and templated(defaults[name]) and option.get("type", "str") not in ("str", "path", "raw")
    ]
    assert not wrong, "%s: options whose default is an expression need type str, path or raw: %s" % (
        role,
        ", ".join(wrong),
    )


def test_ansible_doc_shows_the_real_defaults():
    names = ["roverlab.clouddesktop.%s" % role for role in ROLES]
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "-t", "role", "--json", *names],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    docs = json.loads(done.stdout)
    assert sorted(docs) == sorted(names), "ansible-doc did not find every role: %s" % done.stderr
    wrong = []
    for role in ROLES:
        defaults = role_defaults(role)
        for entry, spec in docs["roverlab.clouddesktop.%s" % role]["entry_points"].items():
            for name, option in (spec.get("options") or {}).items():
                if name in defaults and option.get("default") != defaults[name]:
                    wrong.append("%s %s.%s: %r" % (role, entry, name, option.get("default")))
    assert not wrong, "ansible-doc prints defaults that are not the roles' own:\n  " + "\n  ".join(wrong)


def test_rendered_defaults_pass_their_own_argument_spec(tmp_path):
    # ansible-core checks a role's inputs against its spec when the role starts; its own defaults, rendered (an
    # expression included), must pass, or the role could not run without overrides
    plays = []
    for role in ROLES:
        defaults = REPO / "roles" / role / "defaults" / "main.yml"
        tasks = [
            {
                "name": "%s %s" % (role, entry),
                "ansible.builtin.validate_argument_spec": {"argument_spec": spec.get("options") or {}},
            }
            for entry, spec in entry_points(role).items()
        ]
        plays.append(
            {
                "name": role,
                "hosts": "localhost",
                "gather_facts": False,
                "vars_files": [str(defaults)] if defaults.exists() else [],
                "tasks": tasks,
            }
        )
    playbook = tmp_path / "validate.yml"
    playbook.write_text(yaml.safe_dump(plays))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "ansible_python_interpreter=%s" % sys.executable,
            str(playbook),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "ok=%d" % sum(len(p["tasks"]) for p in plays) in done.stdout, done.stdout[-2000:]
