"""The test runner's one-line reason per failed stage (scripts/run_tests.py)."""

import importlib.util
from pathlib import Path

import pytest

RUNNER = Path(__file__).resolve().parents[3] / "scripts" / "run_tests.py"


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("run_tests", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        (
            "collected 3\nFAILED tests/a.py::test_x - AssertionError: 2 == 0\nFAILED tests/a.py::test_y\n1 failed\n",
            "FAILED tests/a.py::test_x - AssertionError: 2 == 0",
        ),
        (
            'FAILED - RETRYING: [localhost]: Wait (3 left)\nfatal: [rover1]: FAILED! => {"msg": "no k3s"}\n'
            "PLAY RECAP\nrover1 : ok=3 changed=0 failed=1\n",
            'fatal: [rover1]: FAILED! => {"msg": "no k3s"}',
        ),
        ("E501 Line too long\nFound 1 error.\n", "Found 1 error."),
        ("something odd\nexit 3\n", "exit 3"),
        ("", "(empty log)"),
    ],
)
def test_failure_reason_picks_the_line_that_says_why(runner, tmp_path, log, reason):
    path = tmp_path / "stage.log"
    path.write_text(log)
    assert runner.failure_reason(path) == reason


def test_failure_reason_is_cut_to_one_summary_line(runner, tmp_path):
    path = tmp_path / "stage.log"
    path.write_text("ERROR: " + "x" * 500 + "\n")
    reason = runner.failure_reason(path)
    assert len(reason) == 150 and reason.endswith("...")
