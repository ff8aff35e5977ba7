"""Every shell command in README.md, docs/*.md and roles/*/README.md runs as written from a fresh clone after setup.

The checks are in doc_commands.py (beside this file); the lab test runs the commands of kind `lab`. The second
half of this file shows that the checker catches each kind of mistake it is meant to catch.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import doc_commands  # after the path setup above


@pytest.mark.parametrize("doc", doc_commands.doc_files())
def test_doc_commands_run_as_written(doc):
    failing = [c for c in doc_commands.checked_commands(doc) if c.problems]
    assert not failing, "%s: commands that do not run as written:\n%s" % (
        doc,
        "\n".join("  %s\n    - %s" % (c.where(), "\n    - ".join(c.problems)) for c in failing),
    )


def test_the_readme_main_job_is_a_lab_command():
    commands = doc_commands.checked_commands("README.md")
    site = [c for c in commands if c.argv[:2] == [".venv/bin/ansible-playbook", "site.yml"]]
    assert site and {c.kind for c in site} == {"lab"}


def check_doc(tmp_path, text):
    doc = tmp_path / "doc.md"
    doc.write_text(text)
    return [(c.argv[0] if c.argv else "", c.kind, c.problems) for c in doc_commands.checked_commands(str(doc))]


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("ansible-playbook site.yml", "ansible-playbook is not on the PATH after setup"),
        (".venv/bin/ansible-playbook site.yml -e no_such_variable_anywhere=1", "does not use that variable"),
        (".venv/bin/ansible-playbook playbooks/nope.yml", "no playbook playbooks/nope.yml"),
        (".venv/bin/ansible-playbook site.yml --tags no_such_tag", "has no such tag"),
        (".venv/bin/ansible-playbook site.yml --limit robotics-rover9", "not a host or group"),
        (".venv/bin/ansible-playbook site.yml --chekc", "unknown option --chekc"),
        (".venv/bin/ansible-playbook -i inventories/nolab site.yml", "no such inventory"),
        (".venv/bin/ansible-playbook site.yml -e @vars/none.yml", "no such file"),
        (".venv/bin/ansible k3s_cluster -m roverlab.clouddesktop.nvidia_gpu_info -a colour=1", "no such option"),
        (".venv/bin/ansible k3s_cluster -m roverlab.clouddesktop.no_module", "no module"),
        (".venv/bin/ansible-doc -t role roverlab.clouddesktop.no_role", "no role"),
        ("kubectl get nodes", "kubectl is not installed by scripts/setup.sh"),
        ("./scripts/test.sh no-such-stage", "no stage matches"),
        ("./scripts/lab.sh start", "scripts/lab.sh takes up"),
        ("./scripts/nope.sh", "no program ./scripts/nope.sh"),
        ("cat docs/nope.md", "no such path docs/nope.md"),
        ("sudo ./scripts/lab.sh up", "sudo"),
        ("nvidia-smi", "not a program of a Debian 12 machine"),
    ],
)
def test_the_checker_catches(tmp_path, block, problem):
    found = check_doc(tmp_path, "text\n\n```sh\n%s\n```\n" % block)
    problems = [p for entry in found for p in entry[2]]
    assert any(problem in p for p in problems), problems


def test_the_checker_accepts_what_runs(tmp_path):
    found = check_doc(
        tmp_path,
        "```sh\n"
        ". .venv/bin/activate\n"
        "ansible-playbook site.yml --check --diff --limit roverlab-rover1 -e k3s_version=v1.35.6+k3s1 \\\n"
        "    --tags k3s   # the cluster\n"
        "cp -r inventories/example inventories/mylab && cat inventories/mylab/hosts.yml\n"
        "./scripts/test.sh ruff 'molecule-*' -j 1\n"
        "git status | grep -c roles/\n"
        "```\n"
        "```yaml\nansible-playbook nothing.yml\n```\n",
    )
    assert [entry[2] for entry in found] == [[]] * 7, found


def test_node_blocks_are_listed_not_checked(tmp_path):
    found = check_doc(tmp_path, "```sh\n# on a rover node\nnvidia-smi\nk3s kubectl get nodes\n```\n")
    assert found == [("nvidia-smi", "node", []), ("k3s", "node", [])]


def test_kinds(tmp_path):
    found = check_doc(
        tmp_path,
        "```sh\n"
        ".venv/bin/ansible-playbook site.yml\n"
        ".venv/bin/ansible-playbook -i inventories/<lab> site.yml\n"
        ".venv/bin/ansible-doc -t role roverlab.clouddesktop.common\n"
        "```\n",
    )
    assert [entry[1] for entry in found] == ["lab", "own-lab", "static"]
