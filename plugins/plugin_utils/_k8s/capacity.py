# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How much of a resource (e.g. nvidia.com/gpu) a cluster has free, from its Nodes and Pods.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

free = allocatable on schedulable nodes - what pods that still hold or wait for it request.
A node counts when it is not cordoned and not reported NotReady. A pod counts until it has Succeeded
or Failed, whether it runs or is still Pending: a pending GPU pod will take the next free GPU.
Taints are not looked at: a GPU node tainted for other teams still shows its GPUs here.
"""

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import quantity as quantity

_DONE_PHASES = ("Succeeded", "Failed")


def node_schedulable(node):
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return True


def pod_request(pod, resource):
    """What a pod asks of ``resource``: its containers' requests (limits where no request is set)."""
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        amount = (resources.get("requests") or {}).get(resource, (resources.get("limits") or {}).get(resource))
        if amount is not None:
            total += quantity.parse(amount)
    return total


def free_resource(nodes, pods, resource):
    """A summary dict: allocatable, requested, free (numbers), nodes (schedulable node names that have some)."""
    allocatable = 0
    holders = []
    for node in nodes or []:
        amount = ((node.get("status") or {}).get("allocatable") or {}).get(resource)
        if amount is None or not node_schedulable(node):
            continue
        value = quantity.parse(amount)
        if value > 0:
            allocatable += value
            holders.append((node.get("metadata") or {}).get("name"))
    requested = sum(
        pod_request(pod, resource) for pod in pods or [] if (pod.get("status") or {}).get("phase") not in _DONE_PHASES
    )
    return {
        "resource": resource,
        "allocatable": _number(allocatable),
        "requested": _number(requested),
        "free": _number(max(allocatable - requested, 0)),
        "nodes": sorted(holders),
    }


def _number(value):
    return quantity.as_number(quantity.format_quantity(value))
