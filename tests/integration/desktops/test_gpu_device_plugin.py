"""gpu_device_plugin against a real Kubernetes API server (see conftest; the HelmChart is stored as the
helm.cattle.io CRD validates it): RuntimeClass, HelmChart, node labels, the smoke test."""

import yaml

PLAYBOOK = "tests/integration/desktops/gpu_device_plugin.yml"
RTX = {
    "pci_address": "0000:01:00.0",
    "device_id": "1f06",
    "name": "NVIDIA GeForce RTX 2060 SUPER",
    "memory_mib": 8192,
    "architecture": "turing",
}
CHART = "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/nvidia-device-plugin"
GPU_LABELS = {
    "nvidia.com/gpu.present": "true",
    "nvidia.com/gpu.count": "1",
    "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-2060-SUPER",
    "nvidia.com/gpu.memory": "8192",
    "nvidia.com/gpu.family": "turing",
}


def smoke_tests(kube):
    return [job for job in kube.names("/apis/batch/v1/jobs") if job.startswith("roverlab-gpu-smoke-test")]


def gpu_labels(kube, node):
    labels = kube.get("/api/v1/nodes/%s" % node)["metadata"].get("labels") or {}
    return {k: v for k, v in labels.items() if k.startswith("nvidia.com/")}


def test_device_plugin_runtime_class_and_labels(lab, kube):
    kube.add_node("robotics-rover1")
    kube.add_node("robotics-rover2")
    # GPU facts as the nvidia_driver role leaves them (inventory host vars stand in for that play here)
    lab.hosts = {"robotics-rover1": {"nvidia_driver_gpus": [RTX]}, "robotics-rover2": {"nvidia_driver_gpus": []}}
    first = lab.run(PLAYBOOK)
    assert first.rc == 0 and first.changed == 2, first

    runtime = kube.get("/apis/node.k8s.io/v1/runtimeclasses/nvidia")
    assert runtime["handler"] == "nvidia"
    chart = kube.get(CHART)
    assert (chart["spec"]["repo"], chart["spec"]["chart"], chart["spec"]["version"]) == (
        "https://nvidia.github.io/k8s-device-plugin",
        "nvidia-device-plugin",
        "0.20.0",
    )
    assert chart["spec"]["targetNamespace"] == "nvidia-device-plugin" and chart["spec"]["createNamespace"] is True
    values = yaml.safe_load(chart["spec"]["valuesContent"])
    assert values == {
        "runtimeClassName": "nvidia",
        "nodeSelector": {"nvidia.com/gpu.present": "true"},
        "gfd": {"enabled": False},
        "nfd": {"enabled": False},
    }
    assert gpu_labels(kube, "robotics-rover1") == GPU_LABELS
    assert gpu_labels(kube, "robotics-rover2") == {}

    second = lab.run(PLAYBOOK)
    assert second.rc == 0 and second.changed == 0, second

    # time-slicing: four pods share each GPU
    lab.settings["gpu_device_plugin_time_slicing_replicas"] = 4
    sliced = lab.run(PLAYBOOK)
    assert sliced.rc == 0 and sliced.changed == 1, sliced
    values = yaml.safe_load(
        kube.get("/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/nvidia-device-plugin")["spec"][
            "valuesContent"
        ]
    )
    assert values["config"]["default"] == "default"
    sharing = yaml.safe_load(values["config"]["map"]["default"])
    assert sharing["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]

    # the GPU leaves rover1: so do its labels, and only ours
    kube.request(
        "PATCH",
        "/api/v1/nodes/robotics-rover1",
        {"metadata": {"labels": {"team": "robots"}}},
        "application/merge-patch+json",
    )
    lab.hosts["robotics-rover1"]["nvidia_driver_gpus"] = []
    unlabelled = lab.run(PLAYBOOK)
    assert unlabelled.rc == 0 and unlabelled.changed == 1, unlabelled
    assert gpu_labels(kube, "robotics-rover1") == {}
    assert kube.get("/api/v1/nodes/robotics-rover1")["metadata"]["labels"]["team"] == "robots"
    assert lab.run(PLAYBOOK).changed == 0


def test_inventory_names_that_are_no_nodes_are_named(lab, kube):
    kube.add_node("rover1")
    lab.hosts = {"robotics-rover1": {"nvidia_driver_gpus": [RTX]}}
    result = lab.run(PLAYBOOK)
    assert result.rc == 0 and "No Kubernetes node named robotics-rover1" in result.text, result
    lab.settings["gpu_device_plugin_node_names"] = {"robotics-rover1": "rover1"}
    assert lab.run(PLAYBOOK).rc == 0
    assert gpu_labels(kube, "rover1") == GPU_LABELS
    assert kube.get("/api/v1/nodes/robotics-rover1") is None  # labels never create a node


def test_smoke_test_skips_without_gpus(lab, kube):
    # The run with a GPU (the Job, nvidia-smi's output read from its pod's log) needs a kubelet to run the pod
    # and serve its log, which the API tier has not: it is the lab tier's part.
    kube.add_node("rover1")
    lab.hosts = {"rover1": {"nvidia_driver_gpus": []}}
    lab.settings["gpu_device_plugin_smoke_test"] = True
    skipped = lab.run(PLAYBOOK)
    assert skipped.rc == 0, skipped
    assert "GPU smoke test skipped: no schedulable node advertises nvidia.com/gpu" in skipped.text
    assert smoke_tests(kube) == []
