"""Bad input is refused with a clear message before anything is created or changed (a real Kubernetes API
server, see conftest). The refused runs share one cluster: none of them may change it."""

import pytest

CASES = [
    ({"desktop_users": [{"name": "Alice"}]}, "'Alice' is not a DNS label"),
    ({"desktop_users": [{"name": "bob_smith"}]}, "'bob_smith' is not a DNS label"),
    ({"desktop_users": [{"name": "alice"}, {"name": "alice", "cpu": 2}]}, "declared twice"),
    ({"desktop_users": [{"name": "alice", "state": "paused"}]}, "state 'paused' is unknown"),
    ({"desktop_users": [{"name": "alice", "gpu": 1, "image": "example/desk:1.0"}]}, "needs a CUDA image"),
    ({"desktop_users": [{"name": "alice", "cpu": "-1"}]}, "cpu '-1' must be more than zero"),
    ({"desktop_users": [{"name": "alice", "memory": "4 GB"}]}, "memory: '4 GB' is not a quantity"),
    ({"desktop_users": [{"name": "alice", "gpu": -1}]}, "gpu -1 is negative"),
    ({"desktop_users": [{"name": "alice"}], "cloud_desktop_domain": ""}, "no domain: set cloud_desktop_domain"),
]


@pytest.fixture(scope="module")
def zed_lab(module_lab):
    """A cluster with zed's desktop; each bad input below is refused on it and must leave it as it is."""
    module_lab.users = [{"name": "zed"}]
    assert module_lab.run("desktops").rc == 0
    module_lab.base_settings = dict(module_lab.settings)
    return module_lab


@pytest.mark.parametrize(("variables", "message"), CASES, ids=[c[1].split(":")[0][:30] for c in CASES])
def test_bad_input_changes_nothing(zed_lab, variables, message):
    lab, kube = zed_lab, zed_lab.kube
    before = kube.all_objects()
    lab.users = [*variables["desktop_users"], {"name": "zed"}]
    lab.settings = dict(lab.base_settings, **{k: v for k, v in variables.items() if k != "desktop_users"})
    result = lab.run("desktops")
    assert result.rc != 0, result
    assert message in result.text and "nothing was changed" in result.text, result
    assert kube.all_objects() == before


def test_every_problem_is_reported_in_one_run(lab, kube):
    lab.users = [{"name": "Alice"}, {"name": "bob", "state": "gone"}, {"name": "carol", "memory": "lots"}]
    result = lab.run("desktops")
    assert result.rc != 0
    assert "3 problem(s) in the desktop users, nothing was changed" in result.text
    assert kube.items("/apis/apps/v1/deployments") == []


def test_desktop_yml_needs_a_user(lab, kube):
    result = lab.run("desktop")
    assert result.rc != 0 and "Name the desktop's user: -e user=alice" in result.text
    result = lab.run("desktop", "-e", "user=Bob")
    assert result.rc != 0 and "'Bob' is not a DNS label" in result.text
    assert kube.items("/api/v1/secrets") == []
