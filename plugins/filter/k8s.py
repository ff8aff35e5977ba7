# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for Kubernetes objects read with kubernetes.core: quantities, free capacity, change plans."""

import re

import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import capacity, changes, quantity

_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


def k8s_quantity(value, canonical=False):
    """The value of a quantity as a number ("500m" -> 0.5, "1Gi" -> 1073741824), or its canonical text."""
    try:
        return quantity.canonical(value) if canonical else quantity.as_number(value)
    except quantity.QuantityError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def k8s_free_resource(nodes, pods, resource="nvidia.com/gpu"):
    """Allocatable, requested and free amounts of ``resource`` over schedulable nodes."""
    if not isinstance(nodes, list) or not isinstance(pods, list):
        raise AnsibleFilterError("k8s_free_resource needs the lists of Nodes and Pods as read from the API")
    try:
        return capacity.free_resource(nodes, pods, resource)
    except quantity.QuantityError as exc:
        raise AnsibleFilterError("a node or pod has a malformed %s: %s" % (resource, exc)) from exc


def k8s_fit_resource(nodes, pods, wanted, resource="nvidia.com/gpu", expected=None):
    """Whether each of ``wanted`` ([{name, amount, labels}]) fits on one node, with the cluster-wide totals.

    ``expected``: workloads that hold the resource ([{name, amount, labels}]), counted as waiting while no pod
    of theirs exists yet. The result has k8s_free_resource's keys plus fits, placements, unplaced and per_node
    (node, allocatable, free); see plugin_utils/_k8s/capacity.py.
    """
    if not isinstance(nodes, list) or not isinstance(pods, list) or not isinstance(wanted, list):
        raise AnsibleFilterError("k8s_fit_resource needs the lists of Nodes and Pods and a list of wanted amounts")
    try:
        on_the_way = capacity.expected_without_pods(pods, wanted, expected or ())
        fitted = capacity.fit(nodes, pods, resource, wanted, expected or ())
        return dict(capacity.free_resource(nodes, pods, resource, on_the_way), **fitted)
    except quantity.QuantityError as exc:
        raise AnsibleFilterError("a node, pod or wanted amount has a malformed %s: %s" % (resource, exc)) from exc


def k8s_changes(desired, live_by_kind):
    """Which manifests a server-side apply would change, judged from the objects already read.

    ``desired`` is a list of manifests, or the text of a multi-document YAML file (as a template renders it):
    that text is parsed here with PyYAML's C loader, several times faster than from_yaml_all for the
    hundreds of objects a lab's desktops make.
    """
    if isinstance(desired, str):
        desired = _load_all(desired)
    if isinstance(live_by_kind, (str, dict)):
        live_by_kind = _parse_json(live_by_kind, "k8s_changes")
    if not isinstance(desired, list) or not isinstance(live_by_kind, dict):
        raise AnsibleFilterError("k8s_changes needs a list of manifests and a dict {kind: [live objects]}")
    for manifest in desired:
        if (
            not isinstance(manifest, dict)
            or not manifest.get("kind")
            or not (manifest.get("metadata") or {}).get("name")
        ):
            raise AnsibleFilterError("k8s_changes: every manifest needs a kind and metadata.name, got %r" % (manifest,))
    return changes.plan_changes(desired, live_by_kind)


def _parse_json(text, name):
    try:
        return changes.parse_live(text)
    except ValueError as exc:
        raise AnsibleFilterError("%s: the objects read are not valid JSON: %s" % (name, exc)) from exc


def _load_all(text):
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [doc for doc in yaml.load_all(str(text), Loader=loader) if doc]
    except yaml.YAMLError as exc:
        raise AnsibleFilterError("k8s_changes: the manifests are not valid YAML: %s" % exc) from exc


def k8s_label_value(value):
    """Make text usable as a label value: other characters become '-', at most 63, alphanumeric ends."""
    text = _LABEL_VALUE_BAD.sub("-", str(value))[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", text)


class FilterModule:
    def filters(self):
        return {
            "k8s_quantity": k8s_quantity,
            "k8s_free_resource": k8s_free_resource,
            "k8s_fit_resource": k8s_fit_resource,
            "k8s_changes": k8s_changes,
            "k8s_label_value": k8s_label_value,
        }
