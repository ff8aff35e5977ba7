# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How much of a resource (e.g. nvidia.com/gpu) a cluster has free, from its Nodes and Pods.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

free = allocatable on schedulable nodes - what pods that still hold or wait for it request.
A node counts when it is not cordoned and not reported NotReady. A pod counts until it has Succeeded
or Failed, whether it runs or is still Pending: a pending GPU pod will take the next free GPU.
Taints are not looked at: a GPU node tainted for other teams still shows its GPUs here.

A pod takes all it requests from ONE node, so ``fit`` also places each request on a node: two GPUs
where every node has one free do not fit, although the cluster has two.
"""

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import quantity

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


def free_resource(nodes, pods, resource, on_the_way=()):
    """A summary dict: allocatable, requested, free (numbers), nodes (schedulable node names that have some).
    ``on_the_way``: amounts held by workloads whose pods are not there yet (see ``expected_without_pods``)."""
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
    ) + sum(on_the_way)
    return {
        "resource": resource,
        "allocatable": _number(allocatable),
        "requested": _number(requested),
        "free": _number(max(allocatable - requested, 0)),
        "nodes": sorted(holders),
    }


def _number(value):
    return quantity.as_number(quantity.format_quantity(value))


def expected_without_pods(pods, wanted, expected):
    """The amounts of ``expected`` ([{name, amount, labels}], workloads that hold the resource) that no unfinished
    pod matches yet and that are not among ``wanted``: their pods are on their way (a Deployment applied a moment
    ago)."""
    live_labels = [
        (pod.get("metadata") or {}).get("labels") or {}
        for pod in pods or []
        if (pod.get("status") or {}).get("phase") not in _DONE_PHASES
    ]
    wanted_names = {item["name"] for item in wanted}
    return [
        quantity.parse(item["amount"])
        for item in expected or ()
        if item["name"] not in wanted_names and not any(_has_labels(seen, item.get("labels")) for seen in live_labels)
    ]


def fit(nodes, pods, resource, wanted, expected=()):
    """Place each of ``wanted`` ([{name, amount, labels}]) on one schedulable node, largest first.

    Pods whose labels include all of a wanted item's ``labels`` are the pods it replaces (a Recreate
    Deployment stops them first), so what they hold counts as free for it. Pods still waiting for a node are
    placed before the wanted items: they are in line first. So is each of ``expected`` ([{name, amount,
    labels}], workloads that hold the resource) that no unfinished pod matches yet: its pod is on its way (a
    Deployment applied a moment ago). Returns ``{fits, placements {name: node}, unplaced [{name, amount}],
    per_node [{node, allocatable, free}]}``, with what each node has free for the wanted items.
    """
    allocatable = {}
    for node in nodes or []:
        amount = ((node.get("status") or {}).get("allocatable") or {}).get(resource)
        if amount is not None and node_schedulable(node) and quantity.parse(amount) > 0:
            allocatable[(node.get("metadata") or {}).get("name")] = quantity.parse(amount)
    free = dict(allocatable)
    waiting = []
    for pod in pods or []:
        if (pod.get("status") or {}).get("phase") in _DONE_PHASES:
            continue
        labels = (pod.get("metadata") or {}).get("labels") or {}
        amount = pod_request(pod, resource)
        if not amount or any(_has_labels(labels, item.get("labels")) for item in wanted):
            continue
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            if node in free:
                free[node] -= amount
        else:
            waiting.append(amount)
    waiting.extend(expected_without_pods(pods, wanted, expected))
    for amount in sorted(waiting, reverse=True):
        _place(free, amount)
    per_node = [
        {"node": name, "allocatable": _number(allocatable[name]), "free": _number(max(free[name], 0))}
        for name in sorted(allocatable)
    ]
    placements, unplaced = {}, []
    for item in sorted(wanted, key=lambda w: (-quantity.parse(w["amount"]), w["name"])):
        node = _place(free, quantity.parse(item["amount"]))
        if node is None:
            unplaced.append({"name": item["name"], "amount": item["amount"]})
        else:
            placements[item["name"]] = node
    return {"fits": not unplaced, "placements": placements, "unplaced": unplaced, "per_node": per_node}


def _has_labels(labels, wanted):
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def _place(free, amount):
    """The node with the least room that still fits ``amount`` (ties by name); that room is taken."""
    fitting = sorted((room, name) for name, room in free.items() if room >= amount)
    if not fitting:
        return None
    name = fitting[0][1]
    free[name] -= amount
    return name
