"""GPU node labels from nvidia_gpu_info's GPU list, and the Node manifests that carry them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.filter.gpu import gpu_node_label_manifests, gpu_node_labels
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s.changes import APPLIED_HASH

RTX = {
    "pci_address": "0000:01:00.0",
    "device_id": "1f06",
    "name": "NVIDIA GeForce RTX 2060 SUPER",
    "memory_mib": 8192,
    "architecture": "turing",
}


def test_labels_of_a_gpu_node():
    assert gpu_node_labels([RTX, dict(RTX, pci_address="0000:02:00.0")]) == {
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.count": "2",
        "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-2060-SUPER",
        "nvidia.com/gpu.memory": "8192",
        "nvidia.com/gpu.family": "turing",
    }


def test_unknown_values_are_left_out_and_no_gpu_means_no_labels():
    assert gpu_node_labels([dict(RTX, memory_mib=None, architecture=None)]) == {
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.count": "1",
        "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-2060-SUPER",
    }
    assert gpu_node_labels([]) == {} and gpu_node_labels(None) == {}
    with pytest.raises(AnsibleFilterError):
        gpu_node_labels("RTX")


def test_manifests_for_gpu_nodes_and_for_nodes_that_lost_their_gpus():
    nodes = [
        {"metadata": {"name": "rover1"}},
        {"metadata": {"name": "rover2", "annotations": {APPLIED_HASH: "abc"}}},
        {"metadata": {"name": "rover3"}},
    ]
    labels = {"rover1": {"nvidia.com/gpu.present": "true"}, "rover2": {}, "ghost": {"nvidia.com/gpu.present": "true"}}
    assert gpu_node_label_manifests(nodes, labels) == [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "rover1", "labels": {"nvidia.com/gpu.present": "true"}},
        },
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "rover2"}},
    ]
