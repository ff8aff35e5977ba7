"""Stopped and started desktops, and what `absent` then `present` keeps, on the Kubernetes target.

Runs against the API server of the conftest fixture (a real control plane without kubelets: the fixture's
kubelet STAND-IN reports pods running and finishes their deletion). Scale to zero is asserted on the
Deployment the role writes (spec.replicas), and the GPU it frees through the pods that go away.
"""

import time

PROD, DEV = "clouddesktop-prod", "clouddesktop-dev"
USER_LABEL = "clouddesktop.roverlab.io/user"


def deployment(kube, user, namespace=PROD):
    return kube.get("/apis/apps/v1/namespaces/%s/deployments/%s-clouddesktop" % (namespace, user))


def replicas(kube, user, namespace=PROD):
    return deployment(kube, user, namespace)["spec"]["replicas"]


def password(kube, user, namespace=PROD):
    return kube.secret_value(namespace, "%s-clouddesktop" % user, "password")


def desktop_pods(kube, user):
    pods = kube.items("/api/v1/pods?labelSelector=%s%%3D%s" % (USER_LABEL, user))
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def wait_until(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.5)


def test_stop_keeps_the_desktop_and_frees_its_gpu_and_start_brings_it_back(lab, kube):
    kube.add_node("rover1", gpus=1)
    kube.run_kubelets()  # a stopped desktop's pod is deleted for good only once its kubelet says so
    lab.users = [{"name": "alice", "gpu": 1}]
    assert lab.run("desktops").rc == 0
    known = password(kube, "alice")
    claim_path = "/api/v1/namespaces/%s/persistentvolumeclaims/alice-clouddesktop-storage" % PROD
    claim_uid = kube.get(claim_path)["metadata"]["uid"]

    stopped = lab.run("desktop", "-e", "user=alice", "-e", "state=stopped")
    assert stopped.rc == 0 and stopped.changed == 1, stopped
    assert "Stopped (volume, password, DNS name and Tailscale identity kept): alice." in stopped.text
    assert "These desktops restart now" not in stopped.text
    assert replicas(kube, "alice") == 0
    assert password(kube, "alice") == known
    assert kube.get(claim_path)["metadata"]["uid"] == claim_uid
    for kind in ("services", "secrets"):
        assert kube.names("/api/v1/namespaces/%s/%s" % (PROD, kind)) == ["alice-clouddesktop"]
    assert kube.names("/apis/networking.k8s.io/v1/namespaces/%s/ingresses" % PROD) == ["alice-clouddesktop"]

    # the run for every desktop keeps her stopped: the inventory says present, which keeps what she is
    again = lab.run("desktops")
    assert again.rc == 0 and again.changed == 0, again
    assert replicas(kube, "alice") == 0

    listing = lab.run("desktop_list")
    (row,) = [line for line in listing.output.splitlines() if " alice " in line]
    assert row.split()[-1].strip("'\"") == "Stopped", listing

    # her GPU is free for bob once her pod is gone (the API server's part)
    wait_until(lambda: not desktop_pods(kube, "alice"), "alice's pod to go")
    lab.users.append({"name": "bob", "gpu": 1})
    assert lab.run("desktops").rc == 0
    # she cannot start while bob holds the only GPU: starting checks the GPUs as a resize does
    refused = lab.run("desktop", "-e", "user=alice", "-e", "state=started")
    assert refused.rc != 0, refused
    assert "No node can hold alice (1 on one node): rover1 could take 0 (of 1)" in refused.text
    assert replicas(kube, "alice") == 0

    assert lab.run("desktop", "-e", "user=bob", "-e", "state=stopped").rc == 0
    wait_until(lambda: not desktop_pods(kube, "bob"), "bob's pod to go")
    started = lab.run("desktop", "-e", "user=alice", "-e", "state=started")
    assert started.rc == 0 and "Started again: alice." in started.text, started
    assert (replicas(kube, "alice"), replicas(kube, "bob")) == (1, 0)
    assert password(kube, "alice") == known


def test_a_new_desktop_may_be_declared_stopped_and_started_later(lab, kube):
    lab.users = [{"name": "carol", "state": "stopped"}]
    first = lab.run("desktops")
    assert first.rc == 0 and "Desktops created: carol" in first.text, first
    assert replicas(kube, "carol") == 0
    known = password(kube, "carol")
    assert lab.run("desktop", "-e", "user=carol", "-e", "state=started").rc == 0
    assert replicas(kube, "carol") == 1 and password(kube, "carol") == known


def test_absent_then_present_keeps_the_password_with_the_data(lab, kube):
    lab.users = [{"name": "dave"}]
    assert lab.run("desktops").rc == 0
    known = password(kube, "dave")
    assert lab.run("desktop", "-e", "user=dave", "-e", "state=absent").rc == 0
    assert deployment(kube, "dave") is None
    back = lab.run("desktop", "-e", "user=dave")
    assert back.rc == 0 and back.changed > 0, back
    assert password(kube, "dave") == known


def test_the_options_are_named_like_the_inventory_keys_and_the_older_ones_still_work(lab, kube):
    lab.users = [{"name": "erin", "environment": "dev"}]
    declared = lab.run("desktops")
    assert declared.rc == 0, declared
    deprecated = "DEPRECATED (these still work; rename them): - desktop user 'erin': environment is deprecated"
    assert deprecated + ": rename it to tier" in declared.text

    moved = lab.run("desktop", "-e", "user=erin", "-e", "tier=prod")
    assert moved.rc == 0 and "moved: erin" in moved.text, moved
    assert deployment(kube, "erin", DEV) is None and replicas(kube, "erin") == 1

    old = lab.run("desktop", "-e", "user=erin", "-e", "desktop_state=stopped", "-e", "move_to=prod")
    assert old.rc == 0, old
    assert "-e desktop_state is deprecated: use -e state (it works the same)" in old.text
    assert "-e move_to is deprecated: use -e tier (it works the same)" in old.text
    assert replicas(kube, "erin") == 0

    both = lab.run("desktop", "-e", "user=erin", "-e", "state=started", "-e", "desktop_state=stopped")
    assert both.rc != 0 and "give -e state or the older -e desktop_state, not both" in both.text
