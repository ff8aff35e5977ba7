"""Defaulting and admission: the fields the server fills in."""

import base64

from conftest import deployment


def test_secret_string_data_becomes_base64_data(api):
    created = api.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "vnc", "namespace": "default"},
            "stringData": {"password": "pw-alice"},
            "data": {"user": "YWxpY2U="},
        }
    )
    assert "stringData" not in created
    assert created["type"] == "Opaque"
    assert base64.b64decode(created["data"]["password"]) == b"pw-alice"
    assert created["data"]["user"] == "YWxpY2U="


def test_service_defaults(api):
    created = api.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "desk", "namespace": "default"},
            "spec": {"selector": {"app": "desk"}, "ports": [{"port": 80}]},
        }
    )
    spec = created["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["clusterIPs"] == [spec["clusterIP"]] and spec["ipFamilies"] == ["IPv4"]
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]


def test_node_port_services_get_node_ports(api):
    created = api.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "np", "namespace": "default"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}]},
        }
    )
    assert 30000 <= created["spec"]["ports"][0]["nodePort"] <= 32767


def test_headless_service_keeps_none(api):
    created = api.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "hl", "namespace": "default"},
            "spec": {"clusterIP": "None", "ports": [{"port": 80}]},
        }
    )
    assert created["spec"]["clusterIP"] == "None"


def test_deployment_defaults(bare_api):
    spec = bare_api.create(deployment("desk", image="desk"))["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always" and pod["dnsPolicy"] == "ClusterFirst"
    assert pod["containers"][0]["imagePullPolicy"] == "Always", "an untagged image means :latest"


def test_image_pull_policy_follows_the_tag(bare_api):
    for image, policy in (
        ("desk:1.0", "IfNotPresent"),
        ("desk:latest", "Always"),
        ("registry:5000/desk", "Always"),
        ("desk@sha256:abc", "IfNotPresent"),
    ):
        body = deployment("d%d" % len(image), image=image)
        container = bare_api.create(body)["spec"]["template"]["spec"]["containers"][0]
        assert container["imagePullPolicy"] == policy, image


def test_recreate_strategy_gets_no_rolling_update(bare_api):
    body = deployment("desk")
    body["spec"]["strategy"] = {"type": "Recreate"}
    assert bare_api.create(body)["spec"]["strategy"] == {"type": "Recreate"}


def test_pvc_gets_volume_mode_and_the_default_storage_class(bare_api):
    created = bare_api.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "home", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    )
    assert created["spec"]["volumeMode"] == "Filesystem"
    assert created["spec"]["storageClassName"] == "local-path", "k3s' local-path is the default class"
    assert created["status"] == {"phase": "Pending"}


def test_pods_request_what_they_limit(bare_api):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "containers": [{"name": "c", "image": "x:1", "resources": {"limits": {"nvidia.com/gpu": "1", "cpu": "2"}}}]
        },
    }
    created = bare_api.create(pod)
    assert created["spec"]["containers"][0]["resources"]["requests"] == {"nvidia.com/gpu": "1", "cpu": "2"}
    assert created["status"]["phase"] == "Pending" and created["status"]["qosClass"] == "Burstable"


def test_namespace_gets_its_name_label_and_phase(bare_api):
    created = bare_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "desk-alice"}})
    assert created["metadata"]["labels"] == {"kubernetes.io/metadata.name": "desk-alice"}
    assert created["status"] == {"phase": "Active"}
    assert created["spec"] == {"finalizers": ["kubernetes"]}


def test_node_without_spec_comes_back_with_an_empty_spec(api):
    # kube-apiserver always serialises NodeSpec; kubernetes.core.k8s_drain reads spec.unschedulable
    created = api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "rover9"}})
    assert created["spec"] == {}
