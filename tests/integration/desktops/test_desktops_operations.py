"""Admin operations on one desktop (desktop.yml) against a real Kubernetes API server (see conftest):
resize, restart, delete (volume kept), purge (two flags), move between environments, GPU capacity."""

PROD, DEV = "clouddesktop-prod", "clouddesktop-dev"
RESTARTED_AT = "clouddesktop.roverlab.io/restarted-at"


def deployment(kube, user, namespace=PROD):
    return kube.get("/apis/apps/v1/namespaces/%s/deployments/%s-clouddesktop" % (namespace, user))


def test_resize_says_it_restarts_and_restart_keeps_data(lab, kube):
    lab.users = [{"name": "alice", "storage": "30Gi"}]
    assert lab.run("desktops").rc == 0
    quiet = lab.run("desktop", "-e", "user=alice", "-e", "storage=30Gi")
    assert quiet.changed == 0 and "declared in the inventory" not in quiet.text, quiet
    claim_path = "/api/v1/namespaces/%s/persistentvolumeclaims/alice-clouddesktop-storage" % PROD
    claim_uid = kube.get(claim_path)["metadata"]["uid"]
    password = kube.secret_value(PROD, "alice-clouddesktop", "password")

    resize = lab.run("desktop", "-e", "user=alice", "-e", "cpu=6", "-e", "memory=12Gi")
    assert resize.rc == 0 and resize.changed == 1, resize
    assert "These desktops restart now" in resize.text and "alice" in resize.text
    assert "alice is declared in the inventory with cpu=(default), memory=(default); this" in resize.text
    assert "run uses cpu=6, memory=12Gi" in resize.text
    resources = deployment(kube, "alice")["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "6", "memory": "12Gi"}, "limits": {"cpu": "6", "memory": "12Gi"}}

    restart = lab.run("desktop", "-e", "user=alice", "-e", "desktop_state=restarted")
    assert restart.rc == 0 and restart.changed == 2, restart  # the restart, and the size the inventory declares
    assert "restarted: alice." in restart.text, restart  # named once, though both replace the pod
    annotations = deployment(kube, "alice")["spec"]["template"]["metadata"]["annotations"]
    assert annotations[RESTARTED_AT].endswith("Z")
    assert kube.get(claim_path)["metadata"]["uid"] == claim_uid
    assert kube.secret_value(PROD, "alice-clouddesktop", "password") == password

    # the restart annotation belongs to its own field manager: a reconcile leaves it alone
    again = lab.run("desktops")
    assert again.rc == 0 and again.changed == 0, again
    assert (
        deployment(kube, "alice")["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT]
        == annotations[RESTARTED_AT]
    )


def test_delete_keeps_the_volume_and_purge_needs_both_flags(lab, kube):
    lab.users = [{"name": "alice"}, {"name": "bob"}]
    assert lab.run("desktops").rc == 0

    gone = lab.run("desktop", "-e", "user=alice", "-e", "desktop_state=absent")
    assert gone.rc == 0 and gone.changed > 0, gone
    assert deployment(kube, "alice") is None
    # the Secret stays with the volume, so that the desktop comes back with the same password
    assert kube.names("/api/v1/namespaces/%s/secrets" % PROD) == ["alice-clouddesktop", "bob-clouddesktop"]
    assert "alice-clouddesktop-storage" in kube.names("/api/v1/namespaces/%s/persistentvolumeclaims" % PROD)
    assert "PersistentVolumeClaim clouddesktop-prod/alice-clouddesktop-storage" in gone.text
    assert lab.run("desktop", "-e", "user=alice", "-e", "desktop_state=absent").changed == 0

    before = kube.all_objects()
    for flags in (
        ["-e", "purge_data=true"],
        ["-e", "purge_data=true", "-e", "confirm_purge=bob"],
        ["-e", "confirm_purge=alice"],
    ):
        refused = lab.run("desktop", "-e", "user=alice", "-e", "desktop_state=absent", *flags)
        assert refused.rc != 0 and "nothing was changed" in refused.text, refused
    assert kube.all_objects() == before

    purged = lab.run(
        "desktop",
        "-e",
        "user=alice",
        "-e",
        "desktop_state=absent",
        "-e",
        "purge_data=true",
        "-e",
        "confirm_purge=alice",
    )
    assert purged.rc == 0 and purged.changed == 1, purged
    assert kube.names("/api/v1/namespaces/%s/persistentvolumeclaims" % PROD) == ["bob-clouddesktop-storage"]
    assert kube.names("/api/v1/namespaces/%s/secrets" % PROD) == ["bob-clouddesktop"]
    assert deployment(kube, "bob") is not None


def test_free_gpus_are_checked_before_anything_changes(lab, kube):
    kube.add_node("rover1", gpus=1)
    kube.add_node("rover2")
    lab.users = [{"name": "alice", "gpu": 1}]
    assert lab.run("desktops").rc == 0
    alice = deployment(kube, "alice")["spec"]["template"]["spec"]
    assert alice["runtimeClassName"] == "nvidia"
    assert alice["containers"][0]["image"] == "roverlab/desktop:bookworm-cuda"
    assert alice["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"

    before = kube.all_objects()
    lab.users.append({"name": "bob", "gpu": 1})
    refused = lab.run("desktops")
    assert refused.rc != 0, refused
    assert "Not enough free nvidia.com/gpu: this run needs 1 more (bob +1)" in refused.text
    assert "the cluster has 1 on schedulable nodes (rover1)" in refused.text
    assert kube.all_objects() == before

    # the same GPU count again, or fewer, needs no free GPU
    lab.users = [{"name": "alice", "gpu": 1, "cpu": 3}]
    assert lab.run("desktops").rc == 0
    lab.users = [{"name": "alice"}, {"name": "bob", "gpu": 1}]
    # alice gives her GPU back in the same run, but the check does not count on it (pods may overlap)
    assert lab.run("desktops").rc != 0
    lab.users = [{"name": "alice"}]
    assert lab.run("desktops").rc == 0
    lab.users.append({"name": "bob", "gpu": 1})
    assert lab.run("desktops").rc == 0


def test_move_between_environments_keeps_the_volume(lab, kube):
    lab.kube = kube
    kube.add_node("rover1")  # the claim is bound once its pod is scheduled (WaitForFirstConsumer)
    kube.run_kubelets()  # the old claim goes once its pod is gone, which its kubelet confirms
    lab.users = [{"name": "bob", "environment": "dev"}]
    assert lab.run("desktops").rc == 0
    claim_path = "/api/v1/namespaces/%s/persistentvolumeclaims/bob-clouddesktop-storage" % DEV
    kube.wait_for(lambda: kube.get(claim_path)["spec"].get("volumeName"), "the local-path volume of bob's claim")
    password = kube.secret_value(DEV, "bob-clouddesktop", "password")
    old_claim = kube.get("/api/v1/namespaces/%s/persistentvolumeclaims/bob-clouddesktop-storage" % DEV)
    volume_name = old_claim["spec"]["volumeName"]  # provisioned by the k3s stand-in's local-path provisioner

    moved = lab.run("desktop", "-e", "user=bob", "-e", "move_to=prod")
    assert moved.rc == 0 and moved.changed > 0, moved
    assert "moved: bob" in moved.text
    for path in (
        "/apis/apps/v1/namespaces/%s/deployments",
        "/api/v1/namespaces/%s/persistentvolumeclaims",
        "/api/v1/namespaces/%s/secrets",
    ):
        assert kube.names(path % DEV) == []
    claim = kube.get("/api/v1/namespaces/%s/persistentvolumeclaims/bob-clouddesktop-storage" % PROD)
    assert claim["spec"]["volumeName"] == volume_name
    assert claim["status"]["phase"] == "Bound"
    assert kube.names("/api/v1/persistentvolumes") == [volume_name], "the same volume, nothing provisioned anew"
    pv = kube.get("/api/v1/persistentvolumes/%s" % volume_name)
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    ref = pv["spec"]["claimRef"]
    assert (ref["namespace"], ref["name"], ref["uid"]) == (PROD, "bob-clouddesktop-storage", claim["metadata"]["uid"])
    assert deployment(kube, "bob", PROD) is not None
    assert kube.secret_value(PROD, "bob-clouddesktop", "password") == password

    lab.users = [{"name": "bob", "environment": "prod"}]
    assert lab.run("desktops").changed == 0
