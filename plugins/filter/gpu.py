# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Node labels from the GPUs that nvidia_gpu_info found, in the vocabulary of NVIDIA's feature discovery."""

from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.filter.k8s import k8s_label_value
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s.changes import APPLIED_HASH

# The labels this collection sets; a node that loses its GPUs loses all of them.
LABEL_KEYS = (
    "nvidia.com/gpu.present",
    "nvidia.com/gpu.count",
    "nvidia.com/gpu.product",
    "nvidia.com/gpu.memory",
    "nvidia.com/gpu.family",
)


def gpu_node_labels(gpus):
    """Labels for a node from its GPU list (nvidia_gpu_info's ``gpus``); {} for a node without GPUs.

    The product, memory (MiB) and family come from the first GPU, as GPU feature discovery does for a
    node with one kind of GPU; a label is left out when the value is unknown.
    """
    if gpus is None:
        return {}
    if not isinstance(gpus, list) or not all(isinstance(g, dict) for g in gpus):
        raise AnsibleFilterError("gpu_node_labels needs a list of GPU dicts (nvidia_gpu_info's gpus), got %r" % (gpus,))
    if not gpus:
        return {}
    first = gpus[0]
    labels = {"nvidia.com/gpu.present": "true", "nvidia.com/gpu.count": str(len(gpus))}
    if first.get("name"):
        labels["nvidia.com/gpu.product"] = k8s_label_value(first["name"])
    if isinstance(first.get("memory_mib"), int) and not isinstance(first.get("memory_mib"), bool):
        labels["nvidia.com/gpu.memory"] = str(first["memory_mib"])
    if first.get("architecture"):
        labels["nvidia.com/gpu.family"] = k8s_label_value(first["architecture"])
    return labels


def gpu_node_label_manifests(nodes, labels_by_node):
    """Node manifests carrying only GPU labels, for server-side apply by their own field manager.

    ``nodes``: the Nodes as read from the API; ``labels_by_node``: {node name: labels} (from gpu_node_labels).
    A node gets a manifest when it has GPU labels, or when it carries the hash annotation of an earlier apply
    (its GPUs are gone and so must its labels be). Names the cluster does not know are left out.
    """
    if not isinstance(nodes, list) or not isinstance(labels_by_node, dict):
        raise AnsibleFilterError("gpu_node_label_manifests needs the Nodes read from the API and a dict of labels")
    manifests = []
    for node in nodes:
        meta = node.get("metadata") or {}
        labels = dict(labels_by_node.get(meta.get("name")) or {})
        labelled_before = APPLIED_HASH in (meta.get("annotations") or {})
        if labels:
            manifests.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": meta["name"], "labels": labels}})
        elif labelled_before:
            # no labels at all rather than an empty map: the labels this field manager owned go, others stay
            manifests.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": meta["name"]}})
    return manifests


class FilterModule:
    def filters(self):
        return {"gpu_node_labels": gpu_node_labels, "gpu_node_label_manifests": gpu_node_label_manifests}
