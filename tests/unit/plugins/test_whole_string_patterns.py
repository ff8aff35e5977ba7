"""Names, versions and references are checked as whole strings: a trailing newline passes no check.

Python's `$` matches at the end of the text *and* before a newline at its end, so `re.match(r"^[a-z]+$", s)`
accepts "alice\\n". Every check in plugins/ uses re.fullmatch (or \\Z) instead; the scan below keeps it so.
"""

import ast
import re
from pathlib import Path

import yaml

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import dns, spec

REPO = Path(__file__).resolve().parents[3]
RE_FUNCTIONS = {"compile", "match", "search", "fullmatch"}


def _pattern_literal(node):
    """The text of a pattern literal: a string, or the left side of `"..." % x`."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        node = node.left
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def dollar_anchored_patterns(path, root=REPO):
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
            continue
        if not (isinstance(node.func.value, ast.Name) and node.func.value.id == "re"):
            continue
        pattern = _pattern_literal(node.args[0]) if node.func.attr in RE_FUNCTIONS else None
        if pattern is not None and pattern.endswith("$") and not pattern.endswith("\\$"):
            found.append("%s:%d %r" % (path.relative_to(root), node.lineno, pattern))
    return found


def test_no_pattern_in_plugins_is_anchored_with_dollar():
    found = [hit for path in sorted((REPO / "plugins").rglob("*.py")) for hit in dollar_anchored_patterns(path)]
    assert found == [], "use re.fullmatch (or \\Z) for whole-string checks: %s" % found


def test_the_scan_finds_the_pattern_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import re\n"
        'NAME = re.compile(r"^[a-z]+$")\n'
        'SIZE = re.compile(r"^(?P<n>%s)$" % "[0-9]+")\n'
        'OK = re.compile(r"[a-z]+")\n'
        'PRICE = re.compile(r"[0-9]+\\$")\n'
    )
    assert dollar_anchored_patterns(sample, tmp_path) == ["sample.py:2 '^[a-z]+$'", "sample.py:3 '^(?P<n>%s)$'"]
    assert re.match(r"^[a-z]+$", "alice\n"), "the premise: $ matches before a final newline"


def test_desktop_names_with_a_trailing_newline_are_refused():
    # (image references and tags use whole-string patterns too: the scan above covers them)
    assert spec.dns_label_problem("alice") is None and spec.dns_label_problem("alice\n")
    assert spec.dns_name_problem("ros.example.org") is None and spec.dns_name_problem("ros.example.org\n")


def test_an_address_with_a_trailing_newline_is_no_a_record():
    assert dns.record_type("203.0.113.10") == "A"
    assert dns.record_type("203.0.113.10\n") != "A"


def test_the_ros_robot_role_checks_env_names_as_whole_strings():
    variables = yaml.safe_load((REPO / "roles" / "ros_robot" / "vars" / "main.yml").read_text())
    pattern = variables["_ros_robot_env_name_pattern"]
    assert re.match(pattern, "ROS_IP")  # the role's `match` test is re.match
    assert not re.match(pattern, "ROS_IP\n")
    for path in (REPO / "roles" / "ros_robot").rglob("*.yml"):
        assert not re.search(r"""['"]match['"],\s*['"][^'"]*\$['"]""", path.read_text()), path
