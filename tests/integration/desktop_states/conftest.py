"""Fixtures of the desktop state and refusal tests: the API-tier fixtures of the desktop tests (a real Kubernetes
control plane per test, a moto Route53 STAND-IN, ansible-playbook runs), loaded from
tests/integration/desktops/conftest.py. This folder is a stage of its own so that each stage stays well inside
the test runner's per-stage limit."""

import importlib.util
from pathlib import Path

import pytest


def _desktop_fixtures():
    path = Path(__file__).resolve().parents[1] / "desktops" / "conftest.py"
    spec = importlib.util.spec_from_file_location("desktops_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_shared = _desktop_fixtures()
REPO = _shared.REPO
kube, route53, lab, dns_lab = _shared.kube, _shared.route53, _shared.lab, _shared.dns_lab


@pytest.fixture(scope="module")
def module_lab(tmp_path_factory):
    """One control plane and one inventory for all the tests of a module that change nothing on the cluster."""
    tmp = tmp_path_factory.mktemp("module-lab")
    with _shared.ControlPlane(tmp / "kube") as control_plane:
        yield _shared.Lab(tmp, _shared.DesktopApi(control_plane))
