"""Planning a reconcile from what was read: moves, removals, restarts, GPU needs and refusals."""

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop.plan import plan_desktops

USER = "clouddesktop.roverlab.io/user"


def obj(kind, namespace, name, user, spec=None):
    return {"metadata": {"name": name, "namespace": namespace, "labels": {USER: user}}, "spec": spec or {}}


def desktop(name, state="present", namespace="clouddesktop-prod", gpu=0, storage="30Gi", purge=False):
    return {"name": name, "state": state, "namespace": namespace, "gpu": gpu, "storage": storage, "purge_data": purge}


def deployment(namespace, user, gpus=0, replicas=1):
    limits = {"cpu": "4", "nvidia.com/gpu": str(gpus)} if gpus else {"cpu": "4"}
    spec = {
        "replicas": replicas,
        "template": {"spec": {"containers": [{"name": "desktop", "resources": {"limits": limits}}]}},
    }
    return obj("Deployment", namespace, "%s-clouddesktop" % user, user, spec)


def claim(namespace, user, size="30Gi", volume="pvc-1"):
    spec = {"resources": {"requests": {"storage": size}}, "volumeName": volume}
    return obj("PersistentVolumeClaim", namespace, "%s-clouddesktop-storage" % user, user, spec)


def live_of(*objects):
    live = {}
    for kind, item in objects:
        live.setdefault(kind, []).append(item)
    return live


def test_new_desktops_are_created_and_need_their_gpus():
    plan = plan_desktops([desktop("alice", gpu=1), desktop("bob")], {})
    assert plan["created"] == ["alice", "bob"]
    assert plan["gpu_needed"] == 1
    assert plan["gpu_more"] == [{"name": "alice", "more": 1, "amount": 1, "labels": {USER: "alice"}}]
    assert not plan["conflicts"] and not plan["delete"]


def test_only_the_gpu_increase_counts():
    live = live_of(("Deployment", deployment("clouddesktop-prod", "alice", gpus=1)))
    assert plan_desktops([desktop("alice", gpu=2)], live)["gpu_needed"] == 1
    assert plan_desktops([desktop("alice", gpu=1)], live)["gpu_needed"] == 0
    assert plan_desktops([desktop("alice", gpu=0)], live)["gpu_needed"] == 0


def test_removal_keeps_the_volume_and_the_secret_unless_purged():
    live = live_of(
        ("Deployment", deployment("clouddesktop-prod", "alice")),
        ("PersistentVolumeClaim", claim("clouddesktop-prod", "alice")),
        ("Service", obj("Service", "clouddesktop-prod", "alice-clouddesktop", "alice")),
        ("Secret", obj("Secret", "clouddesktop-prod", "alice-clouddesktop", "alice")),
    )
    # absent then present gives the same password: the Secret stays with the volume
    kept = plan_desktops([desktop("alice", state="absent")], live)
    assert [d["kind"] for d in kept["delete"]] == ["Deployment", "Service"]
    assert kept["kept"] == [
        "Secret clouddesktop-prod/alice-clouddesktop",
        "PersistentVolumeClaim clouddesktop-prod/alice-clouddesktop-storage",
    ]
    purged = plan_desktops([desktop("alice", state="absent", purge=True)], live)
    assert [d["kind"] for d in purged["delete"]] == ["Deployment", "Service", "Secret", "PersistentVolumeClaim"]
    assert purged["kept"] == []


def test_a_changed_storage_size_is_refused():
    live = live_of(("PersistentVolumeClaim", claim("clouddesktop-prod", "alice", size="30Gi")))
    plan = plan_desktops([desktop("alice", storage="50Gi")], live)
    assert "cannot be resized" in plan["conflicts"][0]
    assert not plan_desktops([desktop("alice", storage="30720Mi")], live)["conflicts"]


def test_a_changed_environment_is_a_move_that_keeps_the_volume():
    live = live_of(
        ("Deployment", deployment("clouddesktop-dev", "bob")),
        ("PersistentVolumeClaim", claim("clouddesktop-dev", "bob", volume="pvc-42")),
        ("Secret", obj("Secret", "clouddesktop-dev", "bob-clouddesktop", "bob")),
    )
    plan = plan_desktops([desktop("bob")], live)
    assert plan["moves"] == [
        {
            "name": "bob",
            "from": "clouddesktop-dev",
            "to": "clouddesktop-prod",
            "claim": "bob-clouddesktop-storage",
            "volume": "pvc-42",
        }
    ]
    assert [(d["kind"], d["metadata"]["namespace"]) for d in plan["delete"]] == [
        ("Deployment", "clouddesktop-dev"),
        ("Secret", "clouddesktop-dev"),
    ]


def test_a_half_done_move_only_clears_what_is_left():
    live = live_of(
        ("PersistentVolumeClaim", claim("clouddesktop-prod", "bob")),
        ("Service", obj("Service", "clouddesktop-dev", "bob-clouddesktop", "bob")),
    )
    plan = plan_desktops([desktop("bob")], live)
    assert plan["moves"][0]["claim"] == "" and not plan["conflicts"]
    assert [d["kind"] for d in plan["delete"]] == ["Service"]


def test_a_desktop_with_volumes_in_two_namespaces_is_refused():
    live = live_of(
        ("PersistentVolumeClaim", claim("clouddesktop-prod", "bob")),
        ("PersistentVolumeClaim", claim("clouddesktop-dev", "bob")),
    )
    assert "lives in one namespace" in plan_desktops([desktop("bob")], live)["conflicts"][0]


def test_restart_only_for_a_running_desktop_in_place():
    live = live_of(("Deployment", deployment("clouddesktop-prod", "alice")))
    plan = plan_desktops([desktop("alice", state="restarted"), desktop("carol", state="restarted")], live)
    assert plan["restart"] == [{"name": "alice", "namespace": "clouddesktop-prod", "deployment": "alice-clouddesktop"}]
    assert plan["created"] == ["carol"]


def test_stopped_and_started():
    running = live_of(("Deployment", deployment("clouddesktop-prod", "alice", gpus=1)))
    stopped = live_of(("Deployment", deployment("clouddesktop-prod", "alice", gpus=1, replicas=0)))
    # present keeps what a desktop is: a running one runs, a stopped one stays stopped, a new one runs
    assert plan_desktops([desktop("alice", gpu=1)], running)["running"] == ["alice"]
    assert plan_desktops([desktop("alice", gpu=1)], stopped)["running"] == []
    assert plan_desktops([desktop("alice", gpu=1)], stopped)["gpu_needed"] == 0
    assert plan_desktops([desktop("carol")], {})["running"] == ["carol"]
    assert plan_desktops([desktop("carol", state="stopped")], {})["running"] == []
    # stopping frees the GPU and needs none; starting needs it again
    stop = plan_desktops([desktop("alice", state="stopped", gpu=1)], running)
    assert (stop["running"], stop["stopped"], stop["gpu_needed"]) == ([], ["alice"], 0)
    start = plan_desktops([desktop("alice", state="started", gpu=1)], stopped)
    assert (start["running"], start["started"], start["gpu_needed"]) == (["alice"], ["alice"], 1)
    # restarting a stopped desktop starts it; there is no running pod to restart
    restart = plan_desktops([desktop("alice", state="restarted", gpu=1)], stopped)
    assert (restart["started"], restart["restart"]) == (["alice"], [])


def test_gpu_held_names_every_running_gpu_desktop_as_it_is_now():
    live = live_of(
        ("Deployment", deployment("clouddesktop-prod", "alice", gpus=1)),
        ("Deployment", deployment("clouddesktop-prod", "bob", gpus=2, replicas=0)),
        ("Deployment", deployment("clouddesktop-prod", "carol")),
    )
    plan = plan_desktops([desktop("dave", gpu=1)], live)
    # bob is stopped and carol has no GPU: only alice holds one, whether or not her pod exists yet
    assert plan["gpu_held"] == [{"name": "alice", "amount": 1, "labels": {USER: "alice"}}]
