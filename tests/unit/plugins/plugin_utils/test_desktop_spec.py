"""Checking the declared desktop users: every problem is found and reported at once, nothing is rewritten."""

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import spec as spec

SETTINGS = {
    "namespaces": {"prod": "clouddesktop-prod", "dev": "clouddesktop-dev"},
    "default_environment": "prod",
    "domain": "ros.example.org",
    "host_patterns": {"vnc": "vnc.{user}.{domain}", "code": "code.{user}.{domain}"},
    "image": "cosi119/tb3-ros",
    "image_tag": "v2.1.1",
    "cuda_tag_suffix": "-cuda",
    "cpu": "2",
    "cpu_limit": "4",
    "memory": "4Gi",
    "memory_limit": "8Gi",
    "gpu": 0,
    "storage": "30Gi",
}


def problems_of(users, settings=None):
    with pytest.raises(spec.DesktopSpecError) as caught:
        spec.normalize_users(users, settings or SETTINGS)
    return caught.value.problems


def test_defaults_fill_in_a_bare_entry():
    (alice,) = spec.normalize_users([{"name": "alice"}], SETTINGS)
    assert alice == {
        "name": "alice",
        "state": "present",
        "environment": "prod",
        "namespace": "clouddesktop-prod",
        "cpu": "2",
        "cpu_limit": "4",
        "memory": "4Gi",
        "memory_limit": "8Gi",
        "storage": "30Gi",
        "gpu": 0,
        "image": "cosi119/tb3-ros:v2.1.1",
        "cuda": False,
        "hosts": {"vnc": "vnc.alice.ros.example.org", "code": "code.alice.ros.example.org"},
        "purge_data": False,
        "threads": 4,
        "has_tailscale_key": False,
    }


def test_a_gpu_desktop_gets_the_cuda_image_and_a_larger_request_raises_the_limit():
    (bob,) = spec.normalize_users(
        [{"name": "bob", "gpu": "1", "cpu": 8, "memory": "1.5Gi", "environment": "dev"}], SETTINGS
    )
    assert bob["image"] == "cosi119/tb3-ros:v2.1.1-cuda"
    assert bob["cuda"] is True and bob["gpu"] == 1
    assert (bob["cpu"], bob["cpu_limit"], bob["threads"]) == ("8", "8", 8)
    assert (bob["memory"], bob["memory_limit"]) == ("1536Mi", "8Gi")
    assert bob["namespace"] == "clouddesktop-dev"


def test_the_key_itself_stays_out_of_the_result():
    (carol,) = spec.normalize_users([{"name": "carol", "tailscale_auth_key": "tskey-auth-secret"}], SETTINGS)
    assert carol["has_tailscale_key"] is True
    assert "tskey-auth-secret" not in repr(carol)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "Alice"}, "not a DNS label"),
        ({"name": "bob_smith"}, "not a DNS label"),
        ({"name": "1alice"}, "not a DNS label"),
        ({"name": "alice-"}, "not a DNS label"),
        ({"name": "a" * 41}, "at most 40"),
        ({"name": ""}, "not a name"),
        ({"cpu": 2}, "not a name"),
        ({"name": "dave", "state": "running"}, "state 'running' is unknown"),
        ({"name": "dave", "environment": "staging"}, "environment 'staging' is unknown"),
        ({"name": "dave", "cpu": "-2"}, "must be more than zero"),
        ({"name": "dave", "memory": "lots"}, "is not a quantity"),
        ({"name": "dave", "storage": "30GB"}, "unknown suffix"),
        ({"name": "dave", "memory": "8Gi", "memory_limit": "4Gi"}, "below the request"),
        ({"name": "dave", "gpu": -1}, "negative"),
        ({"name": "dave", "gpu": 1.5}, "whole number"),
        ({"name": "dave", "gpu": True}, "whole number"),
        ({"name": "dave", "gpu": 1, "image": "example/desk:1.0"}, "needs a CUDA image"),
        ({"name": "dave", "image": "Not An Image"}, "not an image reference"),
        ({"name": "dave", "memroy": "4Gi"}, "unknown key(s) memroy"),
        ({"name": "dave", "state": "absent", "purge_data": True}, "confirm it with confirm_purge: dave"),
        ({"name": "dave", "state": "absent", "purge_data": True, "confirm_purge": "eve"}, "confirm_purge: dave"),
        ({"name": "dave", "purge_data": True, "confirm_purge": "dave"}, "only goes with state: absent"),
        ({"name": "dave", "confirm_purge": "dave"}, "only meaningful together with purge_data"),
        ("dave", "must be a dict"),
    ],
)
def test_bad_entries_are_refused_with_a_reason(entry, expected):
    (problem,) = problems_of([entry])
    assert expected in problem


def test_a_cuda_image_is_accepted_for_a_gpu_desktop():
    (dave,) = spec.normalize_users([{"name": "dave", "gpu": 1, "image": "example/desk:1.0-cuda12"}], SETTINGS)
    assert dave["image"] == "example/desk:1.0-cuda12"


def test_every_problem_is_reported_at_once_including_duplicates():
    problems = problems_of([{"name": "alice"}, {"name": "Bob"}, {"name": "alice", "cpu": "x"}, {"name": "carol"}])
    assert len(problems) == 3
    assert any("'Bob'" in p for p in problems)
    assert any("declared twice (entries #1 and #3)" in p for p in problems)
    assert any("cpu" in p and "'x'" in p for p in problems)


def test_a_missing_domain_is_refused_for_desktops_that_need_urls():
    settings = dict(SETTINGS, domain="")
    (problem,) = problems_of([{"name": "alice"}], settings)
    assert "set cloud_desktop_domain" in problem
    # removing a desktop needs no URL
    assert spec.normalize_users([{"name": "alice", "state": "absent"}], settings)[0]["hosts"] == {}


def test_bad_settings_are_refused_before_the_users():
    settings = dict(
        SETTINGS, default_environment="qa", host_patterns={"vnc": "vnc.{domain}", "code": "c.{user}.{domain}"}
    )
    problems = problems_of([{"name": "alice"}], settings)
    assert any("cloud_desktop_default_environment 'qa'" in p for p in problems)
    assert any("must contain {user}" in p for p in problems)


def test_not_a_list_is_refused():
    assert "must be a list" in problems_of({"name": "alice"})[0]


@pytest.mark.parametrize("name", ["alice", "a", "lab-user-7", "x" * 40])
def test_dns_labels_that_are_fine(name):
    assert spec.dns_label_problem(name, spec.MAX_NAME_LENGTH) is None
