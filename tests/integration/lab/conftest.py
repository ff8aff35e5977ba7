"""Fixtures for the lab tests: the local lab itself, and the desktop image tests' Chromium fixture and browser
helpers (Debian's Chromium driven by Playwright) for the browser check of a lab desktop."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))

from testkit import conftest_of  # noqa: E402  (tests/ is not a package on sys.path)

# canvas_colours and log_in_to_novnc, and the session's headless Chromium
desktop_image_helpers = conftest_of("desktop_image", "desktop_image_helpers")
browser = desktop_image_helpers.browser


def _lab_sh(*argv):
    return subprocess.run(
        [str(REPO / "scripts" / "lab.sh"), *argv], cwd=REPO, capture_output=True, text=True, timeout=3600, check=False
    )


@pytest.fixture(scope="session")
def lab():
    """`scripts/lab.sh up` once for every test file here. A lab that was already up is used as it is and left up;
    one this session brought up is removed again, the Docker engine left running (the test runner owns it)."""
    was_up = _lab_sh("status").returncode == 0
    up = _lab_sh("up")
    if up.returncode:
        pytest.fail("scripts/lab.sh up failed (rc %d):\n%s\n%s" % (up.returncode, up.stdout[-6000:], up.stderr[-3000:]))
    yield
    if not was_up:
        down = _lab_sh("down", "--keep-engine")
        assert down.returncode == 0, down.stdout[-3000:] + down.stderr[-3000:]
