"""The fake controllers: Deployments, ReplicaSets, PVC binding, Jobs, HelmCharts, CRDs, other workloads."""

import re

from conftest import deployment


def pods_of(api, namespace="default"):
    return api.list("v1", "pods", namespace)


def test_deployment_gets_a_replicaset_and_one_running_pod_per_replica(api):
    api.create(deployment("desk", replicas=2, labels={"app": "desk", "user": "alice"}))
    (replica_set,) = api.list("apps/v1", "replicasets", "default")
    template_hash = replica_set["metadata"]["labels"]["pod-template-hash"]
    assert replica_set["metadata"]["name"] == "desk-" + template_hash
    assert replica_set["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    pods = pods_of(api)
    assert len(pods) == 2
    for pod in pods:
        assert re.match(r"^desk-%s-[a-z0-9]{5}$" % template_hash, pod["metadata"]["name"])
        assert pod["metadata"]["labels"] == {"app": "desk", "user": "alice", "pod-template-hash": template_hash}
        assert pod["metadata"]["ownerReferences"][0]["name"] == replica_set["metadata"]["name"]
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"] == "fakekube-node", "no Node objects: the virtual node"


def test_deployment_status_reports_availability(api):
    api.create(deployment("desk", replicas=2))
    deploy = api.get("apps/v1", "deployments", "desk")
    status = deploy["status"]
    assert status["replicas"] == status["readyReplicas"] == status["availableReplicas"] == 2
    assert status["updatedReplicas"] == 2
    assert status["observedGeneration"] == deploy["metadata"]["generation"]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions["Available"] == ("True", "MinimumReplicasAvailable")
    assert conditions["Progressing"] == ("True", "NewReplicaSetAvailable")


def test_scaling_adds_and_removes_pods(api):
    api.create(deployment("desk", replicas=1))
    api.patch("apps/v1", "deployments", "desk", {"spec": {"replicas": 3}})
    assert len(pods_of(api)) == 3
    api.patch("apps/v1", "deployments", "desk", {"spec": {"replicas": 0}})
    assert pods_of(api) == []
    status = api.get("apps/v1", "deployments", "desk")["status"]
    assert "replicas" not in status and "unavailableReplicas" not in status


def test_changed_template_replaces_the_pod(api):
    api.create(deployment("desk"))
    (old_pod,) = pods_of(api)
    api.patch(
        "apps/v1",
        "deployments",
        "desk",
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "desk:2"}]}}}},
        "strategic",
    )
    (new_pod,) = pods_of(api)
    assert new_pod["metadata"]["name"] != old_pod["metadata"]["name"]
    assert new_pod["spec"]["containers"][0]["image"] == "desk:2"
    replica_sets = {rs["spec"]["replicas"] for rs in api.list("apps/v1", "replicasets", "default")}
    assert replica_sets == {0, 1}, "the old ReplicaSet is kept, scaled to zero"
    assert (
        api.get("apps/v1", "deployments", "desk")["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    )


def test_unchanged_reapply_does_not_touch_pods(api):
    created = api.create(deployment("desk"))
    (pod,) = pods_of(api)
    again = api.patch("apps/v1", "deployments", "desk", {"spec": {"replicas": 1}})
    assert (
        again["metadata"]["resourceVersion"] == api.get("apps/v1", "deployments", "desk")["metadata"]["resourceVersion"]
    )
    assert again["metadata"]["generation"] == created["metadata"]["generation"]
    assert pods_of(api) == [pod]


def test_without_controllers_nothing_runs(bare_api):
    bare_api.create(deployment("desk"))
    assert bare_api.list("apps/v1", "replicasets") == []
    assert "status" not in bare_api.get("apps/v1", "deployments", "desk")


def test_pvc_becomes_bound_to_a_provisioned_volume(api):
    claim = api.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "home", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
        }
    )
    bound = api.get("v1", "persistentvolumeclaims", "home")
    assert bound["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}}
    volume_name = "pvc-" + claim["metadata"]["uid"]
    assert bound["spec"]["volumeName"] == volume_name
    volume = api.get("v1", "persistentvolumes", volume_name, namespace=None)
    assert volume["spec"]["claimRef"]["name"] == "home"
    api.patch("v1", "persistentvolumeclaims", "home", {"spec": {"resources": {"requests": {"storage": "20Gi"}}}})
    assert api.get("v1", "persistentvolumeclaims", "home")["status"]["capacity"] == {"storage": "20Gi"}
    api.delete("v1", "persistentvolumeclaims", "home")
    assert not api.exists("v1", "persistentvolumes", volume_name, namespace=None), "reclaim policy Delete"


def test_job_runs_a_pod_and_completes(api):
    api.create(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once", "namespace": "default"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x:1"}]}}},
        }
    )
    job = api.get("batch/v1", "jobs", "once")
    assert job["status"]["succeeded"] == 1
    assert {c["type"] for c in job["status"]["conditions"]} >= {"Complete"}
    (pod,) = pods_of(api)
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["metadata"]["labels"]["job-name"] == "once"
    assert job["spec"]["selector"]["matchLabels"] == {"batch.kubernetes.io/controller-uid": job["metadata"]["uid"]}


def test_helmchart_gets_an_install_job_and_job_name(api):
    api.create(
        {
            "apiVersion": "helm.cattle.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": "nvidia-device-plugin", "namespace": "kube-system"},
            "spec": {"chart": "nvidia-device-plugin", "version": "0.17.0", "targetNamespace": "kube-system"},
        }
    )
    chart = api.get("helm.cattle.io/v1", "helmcharts", "nvidia-device-plugin", "kube-system")
    assert chart["status"]["jobName"] == "helm-install-nvidia-device-plugin"
    job = api.get("batch/v1", "jobs", "helm-install-nvidia-device-plugin", "kube-system")
    assert job["status"]["succeeded"] == 1
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "VERSION", "value": "0.17.0"} in env
    api.patch(
        "helm.cattle.io/v1",
        "helmcharts",
        "nvidia-device-plugin",
        {"spec": {"version": "0.17.1"}},
        namespace="kube-system",
    )
    job = api.get("batch/v1", "jobs", "helm-install-nvidia-device-plugin", "kube-system")
    assert {"name": "VERSION", "value": "0.17.1"} in job["spec"]["template"]["spec"]["containers"][0]["env"]


def test_helmchart_crds_are_preinstalled_like_k3s(bare_api):
    names = bare_api.names("apiextensions.k8s.io/v1", "customresourcedefinitions")
    assert names == ["helmchartconfigs.helm.cattle.io", "helmcharts.helm.cattle.io"]
    assert bare_api.type("helm.cattle.io/v1", "helmchartconfigs").namespaced


def test_crd_created_through_the_api_is_served(bare_api):
    from test_fakekube_deletion import rover_crd

    bare_api.create(rover_crd())
    rover = bare_api.create(
        {
            "apiVersion": "lab.example.org/v1",
            "kind": "Rover",
            "metadata": {"name": "r1", "namespace": "default"},
            "spec": {"wheels": 6},
        }
    )
    assert rover["metadata"]["generation"] == 1
    assert bare_api.names("lab.example.org/v1", "rovers", "default") == ["r1"]


def test_statefulset_and_daemonset_report_ready(api):
    template = {"metadata": {"labels": {"app": "s"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    api.create(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "s", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "s"}}, "template": template},
        }
    )
    api.create(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "s", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "s"}}, "template": template},
        }
    )
    assert api.get("apps/v1", "statefulsets", "s")["status"]["readyReplicas"] == 2
    assert api.get("apps/v1", "daemonsets", "s")["status"]["numberReady"] == 1


def _claim(name, namespace, volume_name=None):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}
    if volume_name:
        spec["volumeName"] = volume_name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _released_volume(api):
    """A provisioned volume set to Retain whose claim in `default` was deleted; a namespace `other` exists."""
    api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    old = api.create(_claim("home", "default"))
    volume_name = "pvc-" + old["metadata"]["uid"]
    api.patch(
        "v1", "persistentvolumes", volume_name, {"spec": {"persistentVolumeReclaimPolicy": "Retain"}}, namespace=None
    )
    api.delete("v1", "persistentvolumeclaims", "home")
    return volume_name, old


def test_retained_volume_is_handed_to_a_prebound_claim_in_another_namespace(api):
    # the cloud_desktop move: Retain, delete the old claim, reserve the volume, claim it by name
    volume_name, old = _released_volume(api)
    released = api.get("v1", "persistentvolumes", volume_name, namespace=None)
    assert released["status"]["phase"] == "Released"
    assert released["spec"]["claimRef"]["uid"] == old["metadata"]["uid"], "the old claim stays named until reset"

    # a claim for a volume still reserved for another claim waits
    api.create(_claim("early", "other", volume_name))
    assert api.get("v1", "persistentvolumeclaims", "early", namespace="other")["status"]["phase"] == "Pending"
    api.delete("v1", "persistentvolumeclaims", "early", namespace="other")

    reserve = {"spec": {"claimRef": {"namespace": "other", "name": "home", "uid": None, "resourceVersion": None}}}
    api.patch("v1", "persistentvolumes", volume_name, reserve, namespace=None)
    new = api.create(_claim("home", "other", volume_name))
    bound = api.get("v1", "persistentvolumeclaims", "home", namespace="other")
    assert bound["status"]["phase"] == "Bound"
    assert bound["spec"]["volumeName"] == volume_name
    assert [v["metadata"]["name"] for v in api.list("v1", "persistentvolumes")] == [volume_name], (
        "nothing new provisioned"
    )
    volume = api.get("v1", "persistentvolumes", volume_name, namespace=None)
    assert volume["spec"]["claimRef"]["uid"] == new["metadata"]["uid"]
    assert volume["status"]["phase"] == "Bound"


def test_prebound_claim_binds_when_its_volume_is_reserved_for_it_later(api):
    volume_name = _released_volume(api)[0]
    api.create(_claim("home", "other", volume_name))
    assert api.get("v1", "persistentvolumeclaims", "home", namespace="other")["status"]["phase"] == "Pending"
    reserve = {"spec": {"claimRef": {"namespace": "other", "name": "home", "uid": None}}}
    api.patch("v1", "persistentvolumes", volume_name, reserve, namespace=None)
    assert api.get("v1", "persistentvolumeclaims", "home", namespace="other")["status"]["phase"] == "Bound"
