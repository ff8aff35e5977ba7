"""Which lines of galaxy-importer's and Sphinx's output fail the galaxy-importer and docs-site stages."""

import importlib.util
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[3] / "scripts" / "run_tests.py"


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("run_tests_findings", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_importer_warnings_and_errors_are_findings(runner):
    output = (
        "Loading role common\n"
        "WARNING: Could not get role description, no role metadata found\n"
        "ERROR: The import failed for the following reason: No role readme found.\n"
        "Importer processing completed successfully\n"
    )
    assert runner.importer_findings(output) == [
        "WARNING: Could not get role description, no role metadata found",
        "ERROR: The import failed for the following reason: No role readme found.",
    ]


def test_sphinx_accepts_only_labels_of_ansibles_own_docsite(runner):
    warnings = (
        "/x/rst/ros_launch_module.rst:9: WARNING: undefined label: 'common_return_values' [ref.ref]\n"
        "/x/rst/a_filter.rst:1: WARNING: undefined label: 'ansible_collections.roverlab.clouddesktop.gone_filter'\n"
        "/x/rst/b.rst:2: WARNING: Inline emphasis start-string without end-string. [docutils]\n"
    )
    findings = runner.sphinx_findings(warnings)
    assert [f.split(": ", 1)[0] for f in findings] == ["/x/rst/a_filter.rst:1", "/x/rst/b.rst:2"]
