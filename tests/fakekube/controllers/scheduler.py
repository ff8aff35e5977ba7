"""A small scheduler and kubelet: bind each Pod to a Node with room for it, then report it Running.

Filters, in kube-scheduler's order: cordoned Nodes (``spec.unschedulable``), taints the Pod does not tolerate
(NoSchedule, NoExecute), ``nodeSelector`` and required node affinity, then free allocatable resources (every
resource the Pod requests, ``nvidia.com/gpu`` included, against ``status.allocatable`` minus the requests of the
Pods already bound there). Among the Nodes that pass, the least allocated wins (ties: by name).
A Pod that fits nowhere stays Pending with ``PodScheduled=False``, reason Unschedulable, and a message like the
real one (``0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) were unschedulable.``).

When no Node object exists at all, Pods go to a virtual node named ``fakekube-node`` with unlimited room, so
tests that do not care about nodes still see Running Pods.
"""

from fractions import Fraction

from ..clock import now
from ..options import controller_write
from ..quantity import QuantityError, parse_quantity
from ..store import clone
from .base import Controller, is_active, set_condition

VIRTUAL_NODE = "fakekube-node"
_NEVER_FILTERED = frozenset({"PreferNoSchedule"})


def pod_requests(pod_spec):
    """Total requests of a Pod: the sum over its containers, at least the largest init container's."""
    totals = {}
    for container in pod_spec.get("containers") or []:
        for name, amount in _requests(container).items():
            totals[name] = totals.get(name, Fraction(0)) + amount
    for container in pod_spec.get("initContainers") or []:
        for name, amount in _requests(container).items():
            totals[name] = max(totals.get(name, Fraction(0)), amount)
    for name, value in (pod_spec.get("overhead") or {}).items():
        totals[name] = totals.get(name, Fraction(0)) + _quantity(value)
    return {name: amount for name, amount in totals.items() if amount}


def _requests(container):
    resources = container.get("resources") or {}
    merged = dict(resources.get("limits") or {})
    merged.update(resources.get("requests") or {})
    return {name: _quantity(value) for name, value in merged.items()}


def _quantity(value):
    try:
        return parse_quantity(value)
    except QuantityError:
        return Fraction(0)


def allocatable(node):
    status = node.get("status") or {}
    values = status.get("allocatable") or status.get("capacity") or {}
    return {name: _quantity(value) for name, value in values.items()}


def tolerates(tolerations, taint):
    for toleration in tolerations or []:
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists":
            if not toleration.get("key") or toleration["key"] == taint.get("key"):
                return True
        elif toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (
            taint.get("value") or ""
        ):
            return True
    return False


def _expression_matches(expression, labels):
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and values:
        try:
            have, limit = int(labels[key]), int(values[0])
        except ValueError:
            return False
        return have > limit if operator == "Gt" else have < limit
    return False


def matches_node_selection(pod_spec, node):
    labels = node["metadata"].get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not affinity:
        return True
    for term in affinity.get("nodeSelectorTerms") or []:
        expressions_ok = all(_expression_matches(e, labels) for e in term.get("matchExpressions") or [])
        fields = {"metadata.name": node["metadata"]["name"]}
        fields_ok = all(_expression_matches(e, fields) for e in term.get("matchFields") or [])
        if (term.get("matchExpressions") or term.get("matchFields")) and expressions_ok and fields_ok:
            return True
    return False


def _taint_text(taint):
    return "{%s: %s}" % (taint.get("key"), taint.get("value") or "")


class SchedulerController(Controller):
    """Schedules Pods and plays the kubelet for the ones it bound."""

    def keys_for(self, rtype, old, new):
        if rtype.kind == "Node":
            return self._pending_keys()
        if rtype.kind != "Pod":
            return ()
        if new is None or not is_active(new):
            # a Pod that stopped frees room: retry the Pods still waiting
            return self._pending_keys() if old is not None and (old.get("spec") or {}).get("nodeName") else ()
        if (new.get("status") or {}).get("phase") == "Pending" or not (new.get("spec") or {}).get("nodeName"):
            return ((new["metadata"]["namespace"], new["metadata"]["name"]),)
        return ()

    def _pending_keys(self):
        pods = self.type("v1", "pods")
        return [
            (p["metadata"]["namespace"], p["metadata"]["name"])
            for p in self.api.store.items(pods)
            if not (p.get("spec") or {}).get("nodeName") and is_active(p)
        ]

    def sync(self, key):
        pods = self.type("v1", "pods")
        pod = self.api.store.get(pods, *key)
        if pod is None or not is_active(pod):
            return
        spec = pod.get("spec") or {}
        if not spec.get("nodeName"):
            if spec.get("schedulerName", "default-scheduler") != "default-scheduler":
                return
            node_name, message = self._choose_node(pod)
            if node_name is None:
                self._mark_unschedulable(pods, pod, message)
                return
            bound = clone(pod)
            bound["spec"]["nodeName"] = node_name
            pod = self.api._update(pods, pod, bound, controller_write("kube-scheduler"))[0]
        self._run(pods, pod)

    # --- scheduling
    def _choose_node(self, pod):
        nodes = self.api.store.items(self.type("v1", "nodes"))
        if not nodes:
            return VIRTUAL_NODE, ""
        spec = pod.get("spec") or {}
        wanted = pod_requests(spec)
        used = self._requested_per_node()
        reasons = {}
        candidates = []
        for node in nodes:
            problems = self._filter(spec, node, wanted, used.get(node["metadata"]["name"], {}))
            if problems:
                for problem in problems:
                    reasons[problem] = reasons.get(problem, 0) + 1
                continue
            candidates.append(
                (self._score(node, wanted, used.get(node["metadata"]["name"], {})), node["metadata"]["name"])
            )
        if candidates:
            return min(candidates)[1], ""
        summary = ", ".join("%d %s" % (count, reason) for reason, count in sorted(reasons.items()))
        total = len(nodes)
        return None, (
            "0/%d nodes are available: %s. preemption: 0/%d nodes are available: %d Preemption is not helpful "
            "for scheduling." % (total, summary, total, total)
        )

    def _requested_per_node(self):
        used = {}
        for pod in self.api.store.items(self.type("v1", "pods")):
            node_name = (pod.get("spec") or {}).get("nodeName")
            if not node_name or not is_active(pod):
                continue
            totals = used.setdefault(node_name, {"pods": Fraction(0)})
            totals["pods"] += 1
            for name, amount in pod_requests(pod["spec"]).items():
                totals[name] = totals.get(name, Fraction(0)) + amount
        return used

    @staticmethod
    def _filter(spec, node, wanted, used):
        node_spec = node.get("spec") or {}
        if node_spec.get("unschedulable") and not tolerates(
            spec.get("tolerations"), {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
        ):
            return ["node(s) were unschedulable"]
        for taint in node_spec.get("taints") or []:
            if taint.get("effect") not in _NEVER_FILTERED and not tolerates(spec.get("tolerations"), taint):
                return ["node(s) had untolerated taint %s" % _taint_text(taint)]
        if not matches_node_selection(spec, node):
            return ["node(s) didn't match Pod's node affinity/selector"]
        room = allocatable(node)
        problems = []
        if "pods" in room and used.get("pods", 0) + 1 > room["pods"]:
            problems.append("Too many pods")
        for name, amount in sorted(wanted.items()):
            if used.get(name, 0) + amount > room.get(name, 0):
                problems.append("Insufficient %s" % name)
        return problems

    @staticmethod
    def _score(node, wanted, used):
        room = allocatable(node)
        shares = [
            (used.get(name, 0) + wanted.get(name, 0)) / room[name] for name in ("cpu", "memory") if room.get(name)
        ]
        return sum(shares) / len(shares) if shares else 0

    def _mark_unschedulable(self, pods, pod, message):
        status = clone(pod.get("status") or {})
        status["phase"] = "Pending"
        status["conditions"] = set_condition(
            status.get("conditions"), "PodScheduled", "False", "Unschedulable", message
        )
        self.api.write_status(pods, pod, status, manager="kube-scheduler")

    # --- the kubelet's part
    def _run(self, pods, pod):
        status = clone(pod.get("status") or {})
        if status.get("phase") not in (None, "Pending"):
            return
        spec = pod["spec"]
        node = self.api.store.get(self.type("v1", "nodes"), None, spec["nodeName"])
        started = now()
        finishes = _owned_by_job(pod)
        conditions = status.get("conditions")
        for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
            ready_value = "False" if finishes and kind in ("Ready", "ContainersReady") else "True"
            reason = "PodCompleted" if ready_value == "False" else ""
            conditions = set_condition(conditions, kind, ready_value, reason)
        for condition in conditions:
            if not condition.get("reason"):
                condition.pop("reason", None)
        status.update(
            {
                "phase": "Succeeded" if finishes else "Running",
                "conditions": conditions,
                "hostIP": _node_address(node),
                "hostIPs": [{"ip": _node_address(node)}],
                "podIP": self._pod_ip(pod),
                "startTime": started,
                "containerStatuses": [_container_status(c, started, finishes) for c in spec.get("containers") or []],
            }
        )
        status["podIPs"] = [{"ip": status["podIP"]}]
        self.api.write_status(pods, pod, status, manager="k3s")

    def _pod_ip(self, pod):
        number = int(pod["metadata"]["resourceVersion"])
        return "10.42.%d.%d" % ((number // 250) % 256, number % 250 + 2)


def _owned_by_job(pod):
    return any(ref.get("kind") == "Job" for ref in pod["metadata"].get("ownerReferences") or [])


def _node_address(node):
    if node is None:
        return "10.0.0.1"
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return address.get("address")
    return "10.0.0.1"


def _container_status(container, started, finished):
    state = (
        {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": started}}
        if finished
        else {"running": {"startedAt": started}}
    )
    return {
        "name": container.get("name"),
        "image": container.get("image"),
        "imageID": "",
        "containerID": "containerd://fakekube",
        "ready": not finished,
        "started": not finished,
        "restartCount": 0,
        "state": state,
    }
