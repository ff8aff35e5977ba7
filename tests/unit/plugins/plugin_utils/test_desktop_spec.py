"""The one desktop spec: every problem is found and reported at once, in the same words for both targets,
nothing is rewritten, and one-user runs are checked against the whole inventory."""

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import spec

COMMON = {
    "image": "cosi119/tb3-ros",
    "image_tag": "v2.1.1",
    "cuda_tag_suffix": "-cuda",
    "cpu": "2",
    "cpu_limit": "4",
    "memory": "4Gi",
    "memory_limit": "8Gi",
    "shm_size": "1Gi",
    "gpu": 0,
    "resolution": "1920x1080",
    "env": {},
    "reserved_names": [],
    "password_length": 20,
}
KUBE = dict(
    COMMON,
    namespaces={"prod": "clouddesktop-prod", "dev": "clouddesktop-dev"},
    default_tier="prod",
    domain="ros.example.org",
    host_patterns={"vnc": "vnc.{user}.{domain}", "code": "code.{user}.{domain}"},
    storage="30Gi",
)
DOCKER = dict(
    COMMON,
    name_prefix="clouddesktop",
    host_port_base={"novnc": 6080, "code": 8080, "vnc": 5900, "ssh": 2222},
    web_bind_address="0.0.0.0",
    direct_bind_address="127.0.0.1",
    secrets_dir="/var/lib/roverlab/desktop_docker/secrets",
    labels={},
    gpu_capabilities=["gpu", "utility"],
)
SETTINGS = {spec.KUBERNETES: KUBE, spec.DOCKER: DOCKER}


def check(users, target=spec.KUBERNETES, settings=None, **kwargs):
    return spec.check(users, settings or SETTINGS[target], target, **kwargs)


def problems_of(users, target=spec.KUBERNETES, settings=None, **kwargs):
    result = check(users, target, settings, **kwargs)
    assert result["problems"], result
    return result["problems"]


def test_defaults_fill_in_a_bare_entry():
    (alice,) = check([{"name": "alice"}])["desktops"]
    assert {k: alice[k] for k in ("name", "state", "tier", "namespace", "image", "gpu", "cuda", "threads")} == {
        "name": "alice",
        "state": "present",
        "tier": "prod",
        "namespace": "clouddesktop-prod",
        "image": "cosi119/tb3-ros:v2.1.1",
        "gpu": 0,
        "cuda": False,
        "threads": 4,
    }
    assert (alice["cpu"], alice["cpu_limit"], alice["memory"], alice["memory_limit"]) == ("2", "4", "4Gi", "8Gi")
    assert (alice["storage"], alice["shm_size"], alice["purge_data"]) == ("30Gi", "1Gi", False)
    assert alice["hosts"] == {"vnc": "vnc.alice.ros.example.org", "code": "code.alice.ros.example.org"}
    assert alice["env"] == {"MAKEFLAGS": "-j4", "OMP_NUM_THREADS": "4", "RESOLUTION": "1920x1080"}


def test_the_image_contract_is_the_same_on_both_targets():
    (kube,) = check([{"name": "alice", "gpu": 1}])["desktops"]
    (docker,) = check([{"name": "alice", "gpu": 1}], spec.DOCKER)["desktops"]
    for key in ("ports", "secret_env", "data_path", "env", "image", "cpu", "cpu_limit", "memory", "memory_limit"):
        assert kube[key] == docker[key], key
    assert [(p["name"], p["port"]) for p in kube["ports"]] == [
        ("novnc", 80),
        ("code", 8080),
        ("vnc", 5900),
        ("ssh", 2222),
    ]
    assert kube["data_path"] == "/my_ros_data"
    assert [e["name"] for e in kube["secret_env"]] == ["PASSWORD", "VNC_PASSWORD", "AUTHKEY"]
    assert kube["env"]["NVIDIA_DRIVER_CAPABILITIES"] == "all"


def test_a_gpu_desktop_gets_the_cuda_image_and_a_larger_request_raises_the_limit():
    (bob,) = check([{"name": "bob", "gpu": "1", "cpu": 8, "memory": "1.5Gi", "tier": "dev"}])["desktops"]
    assert bob["image"] == "cosi119/tb3-ros:v2.1.1-cuda"
    assert bob["cuda"] is True and bob["gpu"] == 1
    assert (bob["cpu"], bob["cpu_limit"], bob["threads"]) == ("8", "8", 8)
    assert (bob["memory"], bob["memory_limit"]) == ("1536Mi", "8Gi")
    assert bob["namespace"] == "clouddesktop-dev"


def test_secrets_stay_out_of_the_result():
    users = [{"name": "carol", "tailscale_auth_key": "tskey-auth-secret", "password": "a-password-of-the-lab"}]
    result = check(users, spec.DOCKER)
    (carol,) = result["desktops"]
    assert carol["has_tailscale_key"] is True and carol["has_password"] is True
    assert "tskey-auth-secret" not in repr(result) and "a-password-of-the-lab" not in repr(result)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "Alice"}, "not a DNS label"),
        ({"name": "bob_smith"}, "not a DNS label"),
        ({"name": "1alice"}, "not a DNS label"),
        ({"name": "alice-"}, "not a DNS label"),
        ({"name": "alice\n"}, "not a DNS label"),
        ({"name": "a" * 41}, "at most 40"),
        ({"name": ""}, "not a name"),
        ({"cpu": 2}, "not a name"),
        ({"name": "default"}, "'default' is a reserved name"),
        ({"name": "kubernetes"}, "is a reserved name"),
        ({"name": "kube-system"}, "starts with 'kube-', which Kubernetes reserves"),
        ({"name": "alice-backup"}, "ends with '-backup'"),
        ({"name": "alice-restore"}, "ends with '-restore'"),
        ({"name": "dave", "state": "running"}, "state 'running' is unknown"),
        ({"name": "dave", "cpu": "-2"}, "must be more than zero"),
        ({"name": "dave", "memory": "lots"}, "is not a quantity"),
        ({"name": "dave", "memory": "8g"}, "Docker's 8g is 8Gi here"),
        ({"name": "dave", "memory": "8Gi", "memory_limit": "4Gi"}, "below the request"),
        ({"name": "dave", "gpu": -1}, "negative"),
        ({"name": "dave", "gpu": 1.5}, "whole number"),
        ({"name": "dave", "gpu": True}, "whole number"),
        ({"name": "dave", "gpu": "auto"}, "gpu 'auto' must be a whole number of GPUs"),
        ({"name": "dave", "gpu": 1, "image": "example/desk:1.0"}, "needs a CUDA image"),
        ({"name": "dave", "image": "Not An Image"}, "not an image reference"),
        ({"name": "dave", "image": "example/desk:1.0\n"}, "not an image reference"),
        ({"name": "dave", "image_tag": "v1\n"}, "not an image tag"),
        ({"name": "dave", "resolution": "big"}, "not WIDTHxHEIGHT"),
        ({"name": "dave", "env": {"PASSWORD": "x"}}, "env PASSWORD is set by the collection"),
        ({"name": "dave", "env": {"1X": "x"}}, "not a variable name"),
        ({"name": "dave", "ssh_authorized_keys": ["not a key"]}, "list of public keys"),
        ({"name": "dave", "memroy": "4Gi"}, "unknown key(s) memroy"),
        ({"name": "dave", "cpus": 2}, "cpus is now cpu_limit"),
        ({"name": "dave", "gpu_count": 2}, "gpu_count is gone"),
        ({"name": "dave", "state": "absent", "purge_data": True}, "confirm it with confirm_purge: dave"),
        ({"name": "dave", "state": "absent", "purge_data": True, "confirm_purge": "eve"}, "confirm_purge: dave"),
        ({"name": "dave", "purge_data": True, "confirm_purge": "dave"}, "only goes with state: absent"),
        ({"name": "dave", "confirm_purge": "dave"}, "only meaningful together with purge_data"),
        ("dave", "must be a dict"),
    ],
)
def test_bad_entries_are_refused_in_the_same_words_on_both_targets(entry, expected):
    (problem,) = problems_of([entry])
    assert expected in problem
    assert problems_of([entry], spec.DOCKER) == [problem]


@pytest.mark.parametrize(
    ("entry", "target", "expected"),
    [
        ({"name": "dave", "tier": "staging"}, spec.KUBERNETES, "tier 'staging' is unknown"),
        ({"name": "dave", "tier": "dev"}, spec.DOCKER, "tier is only used on kubernetes desktops, not on docker ones"),
        ({"name": "dave", "storage": "30GB"}, spec.KUBERNETES, "unknown suffix"),
        ({"name": "dave", "slot": 1}, spec.KUBERNETES, "slot is only used on docker desktops"),
        ({"name": "dave", "slot": -1}, spec.DOCKER, "slot -1 must be a whole number, 0 or more"),
        ({"name": "dave", "password": "short"}, spec.DOCKER, "at least 12 characters"),
    ],
)
def test_keys_of_one_target(entry, target, expected):
    (problem,) = problems_of([entry], target)
    assert expected in problem


def test_a_lab_can_reserve_more_names():
    settings = dict(KUBE, reserved_names=["admin"])
    (problem,) = problems_of([{"name": "admin"}], settings=settings)
    assert "'admin' is a reserved name (reserved: default, kubernetes, localhost, admin, kube-*" in problem


def test_a_cuda_image_is_accepted_for_a_gpu_desktop():
    (dave,) = check([{"name": "dave", "gpu": 1, "image": "example/desk:1.0-cuda12"}])["desktops"]
    assert dave["image"] == "example/desk:1.0-cuda12"


def test_every_problem_is_reported_at_once_including_duplicates():
    result = check([{"name": "alice"}, {"name": "Bob"}, {"name": "alice", "cpu": "x"}, {"name": "carol"}])
    problems = result["problems"]
    assert len(problems) == 3
    assert any("'Bob'" in p for p in problems)
    assert any("declared twice (entries #1 and #3)" in p for p in problems)
    assert any("cpu" in p and "'x'" in p for p in problems)
    assert result["message"].startswith("3 problem(s) in the desktop users, nothing was changed:\n- ")


def test_a_missing_domain_is_refused_for_desktops_that_need_urls():
    settings = dict(KUBE, domain="")
    (problem,) = problems_of([{"name": "alice"}], settings=settings)
    assert "set cloud_desktop_domain" in problem
    # removing a desktop needs no URL
    assert check([{"name": "alice", "state": "absent"}], settings=settings)["desktops"][0]["hosts"] == {}


def test_bad_settings_are_refused_before_the_users():
    settings = dict(KUBE, default_tier="qa", host_patterns={"vnc": "vnc.{domain}", "code": "c.{user}.{domain}"})
    problems = problems_of([{"name": "alice"}], settings=settings)
    assert any("cloud_desktop_default_tier 'qa'" in p for p in problems)
    assert any("must contain {user}" in p for p in problems)
    problems = problems_of([{"name": "alice"}], spec.DOCKER, dict(DOCKER, password_length=8, name_prefix="X"))
    assert any("desktop_docker_password_length 8 must be at least 12" in p for p in problems)
    assert any("desktop_docker_name_prefix 'X'" in p for p in problems)
    base = dict(DOCKER["host_port_base"], vscode=8080)
    problems = problems_of([{"name": "alice"}], spec.DOCKER, dict(DOCKER, host_port_base=base))
    assert problems == ["desktop_docker_host_port_base: the key vscode was renamed to code"]


def test_not_a_list_is_refused():
    assert "must be a list" in problems_of({"name": "alice"})[0]


def test_retired_variables_are_refused_with_what_to_rename():
    problems = problems_of([], spec.DOCKER, defined_variables=["desktop_docker_users", "desktop_docker_image"])
    assert problems == [
        "desktop_docker_users was renamed: use desktop_users (the same list for the cluster and for Docker hosts)"
    ]
    assert check([], defined_variables=["cloud_desktop_domain"])["problems"] == []


def test_the_older_key_environment_still_works_with_a_warning():
    result = check([{"name": "bob", "environment": "dev"}])
    assert result["problems"] == [] and result["desktops"][0]["namespace"] == "clouddesktop-dev"
    assert result["warnings"] == [
        "desktop user 'bob': environment is deprecated: rename it to tier (it works the same)"
    ]
    both = [{"name": "bob", "environment": "dev", "tier": "dev"}]
    assert "give tier or the older environment, not both" in problems_of(both)[0]


@pytest.mark.parametrize("name", ["alice", "a", "lab-user-7", "x" * 40])
def test_dns_labels_that_are_fine(name):
    assert spec.user_name_problem(name) is None


# --- one desktop per run (desktop.yml, desktop_docker.yml -e user=...) -----------------------------


def test_one_user_run_checks_the_whole_inventory():
    users = [{"name": "alice"}, {"name": "alice", "cpu": 2}, {"name": "bob"}]
    (problem,) = problems_of(users, selection={"user": "bob", "options": {}})
    assert "declared twice" in problem


def test_one_user_run_takes_options_named_like_the_keys():
    users = [{"name": "alice", "cpu": 4}, {"name": "bob"}]
    result = check(users, selection={"user": "alice", "options": {"state": "stopped", "cpu": "6", "gpu": "1"}})
    (alice,) = result["selected"]
    assert (alice["state"], alice["cpu"], alice["gpu"]) == ("stopped", "6", 1)
    assert [d["name"] for d in result["desktops"]] == ["alice", "bob"]
    assert result["notes"] == [
        "alice is declared in the inventory with cpu=4, gpu=(default); this run uses cpu=6, gpu=1. Put the new values "
        "in desktop_users, or the next run for every desktop sets them back."
    ]


def test_one_user_run_text_options_are_read_as_their_kind():
    options = {"state": "absent", "purge_data": "true", "confirm_purge": "alice"}
    (alice,) = check([{"name": "alice"}], selection={"user": "alice", "options": options})["selected"]
    assert alice["purge_data"] is True


def test_one_user_run_older_option_names_still_work_with_a_warning():
    result = check([{"name": "bob", "environment": "dev"}], selection={"user": "bob", "options": {"move_to": "prod"}})
    (bob,) = result["selected"]
    assert bob["namespace"] == "clouddesktop-prod"
    assert "-e move_to is deprecated: use -e tier (it works the same)" in result["warnings"]
    options = {"desktop_docker_user": "bob", "desktop_docker_state": "stopped"}
    result = check([{"name": "bob"}], spec.DOCKER, selection={"user": "", "options": options})
    assert result["problems"] == [] and result["selected"][0]["state"] == "stopped"


def test_one_user_run_refusals():
    assert "'Bob' is not a DNS label" in problems_of([], selection={"user": "Bob", "options": {}})[0]
    assert "is a reserved name" in problems_of([], selection={"user": "default", "options": {}})[0]
    assert "env cannot be given for one run" in problems_of([], selection={"user": "a", "options": {"env": {}}})[0]
    (problem,) = problems_of([{"name": "alice"}], spec.DOCKER, selection={"user": "mallory", "options": {}})
    assert problem == "user 'mallory' is not in desktop_users (alice); add it there first"
    (problem,) = problems_of([{"name": "alice"}], spec.DOCKER, selection={"user": "", "options": {"state": "stopped"}})
    assert problem == "-e state act(s) on one desktop: name it with -e user=NAME"


def test_one_user_run_a_cluster_user_not_in_the_inventory_is_fine():
    (erin,) = check([{"name": "alice"}], selection={"user": "erin", "options": {}})["selected"]
    assert erin["name"] == "erin"


def test_a_lone_docker_desktop_without_an_inventory_gets_slot_0():
    (erin,) = check([], spec.DOCKER, selection={"user": "erin", "options": {}})["selected"]
    assert (erin["slot"], erin["container"], erin["ports_on_host"]["novnc"]) == (0, "clouddesktop-erin", 6080)


def test_states():
    assert spec.STATES == ("present", "started", "stopped", "restarted", "absent")
    for state in spec.STATES:
        assert check([{"name": "a", "state": state}])["problems"] == []
