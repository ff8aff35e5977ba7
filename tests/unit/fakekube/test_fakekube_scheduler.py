"""The small scheduler: cordon, taints, nodeSelector and affinity, resources including nvidia.com/gpu."""

from conftest import deployment, node


def only_pod(api, namespace="default"):
    (pod,) = api.list("v1", "pods", namespace)
    return pod


def unschedulable_message(pod):
    (condition,) = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    return condition["message"]


def test_pod_lands_on_a_node_with_a_free_gpu(api):
    api.create(node("rover-cpu"))
    api.create(node("rover-gpu", gpus=1))
    api.create(deployment("desk", limits={"nvidia.com/gpu": "1"}))
    pod = only_pod(api)
    assert pod["spec"]["nodeName"] == "rover-gpu"
    assert pod["status"]["phase"] == "Running"


def test_no_gpu_left_means_pending_with_the_reason(api):
    api.create(node("rover-cpu"))
    api.create(node("rover-gpu", gpus=1))
    api.create(deployment("first", limits={"nvidia.com/gpu": "1"}))
    api.create(deployment("second", limits={"nvidia.com/gpu": "1"}))
    pending = [p for p in api.list("v1", "pods", "default") if p["status"]["phase"] == "Pending"]
    (pod,) = pending
    assert pod["metadata"]["name"].startswith("second-")
    assert "spec" in pod and not pod["spec"].get("nodeName")
    assert unschedulable_message(pod).startswith("0/2 nodes are available: 2 Insufficient nvidia.com/gpu.")
    second = api.get("apps/v1", "deployments", "second")["status"]
    assert second["unavailableReplicas"] == 1
    assert {c["type"]: c["status"] for c in second["conditions"]}["Available"] == "False"


def test_pending_pod_is_scheduled_when_room_appears(api):
    api.create(node("rover-1", gpus=1))
    api.create(deployment("first", limits={"nvidia.com/gpu": "1"}))
    api.create(deployment("second", limits={"nvidia.com/gpu": "1"}))
    api.delete("apps/v1", "deployments", "first")
    assert only_pod(api)["status"]["phase"] == "Running"
    api.create(deployment("third", limits={"nvidia.com/gpu": "1"}))
    api.create(node("rover-2", gpus=1))
    third = next(p for p in api.list("v1", "pods", "default") if p["metadata"]["name"].startswith("third-"))
    assert third["spec"]["nodeName"] == "rover-2", "a new Node lets waiting Pods run"


def test_cpu_and_memory_requests_are_summed_per_node(api):
    api.create(node("rover-1", cpu="2", memory="4Gi"))
    api.create(deployment("a", requests={"cpu": "1500m", "memory": "1Gi"}))
    api.create(deployment("b", requests={"cpu": "1", "memory": "1Gi"}))
    api.create(deployment("c", requests={"memory": "3500Mi"}))
    pods = {p["metadata"]["name"][0]: p for p in api.list("v1", "pods", "default")}
    assert pods["a"]["status"]["phase"] == "Running"
    assert "1 Insufficient cpu" in unschedulable_message(pods["b"])
    assert "1 Insufficient memory" in unschedulable_message(pods["c"])


def test_cordoned_node_gets_no_new_pods(api):
    api.create(node("rover-1", unschedulable=True))
    api.create(deployment("desk"))
    assert "1 node(s) were unschedulable" in unschedulable_message(only_pod(api))
    api.patch("v1", "nodes", "rover-1", {"spec": {"unschedulable": False}}, namespace=None)
    assert only_pod(api)["spec"]["nodeName"] == "rover-1"


def test_taints_need_tolerations(api):
    taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    api.create(node("rover-1", taints=[taint]))
    api.create(deployment("plain"))
    assert "1 node(s) had untolerated taint {nvidia.com/gpu: present}" in unschedulable_message(only_pod(api))
    api.create(
        deployment("tolerant", tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    )
    tolerant = next(p for p in api.list("v1", "pods", "default") if p["metadata"]["name"].startswith("tolerant-"))
    assert tolerant["spec"]["nodeName"] == "rover-1"


def test_prefer_no_schedule_taints_do_not_filter(api):
    api.create(node("rover-1", taints=[{"key": "soft", "effect": "PreferNoSchedule"}]))
    api.create(deployment("desk"))
    assert only_pod(api)["spec"]["nodeName"] == "rover-1"


def test_node_selector_and_affinity(api):
    api.create(node("rover-1", labels={"gpu": "turing"}))
    api.create(node("rover-2", labels={"gpu": "ampere"}))
    api.create(deployment("sel", node_selector={"gpu": "ampere"}))
    assert only_pod(api)["spec"]["nodeName"] == "rover-2"
    body = deployment("aff")
    body["spec"]["template"]["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "gpu", "operator": "In", "values": ["turing"]}]}]
            }
        }
    }
    api.create(body)
    aff = next(p for p in api.list("v1", "pods", "default") if p["metadata"]["name"].startswith("aff-"))
    assert aff["spec"]["nodeName"] == "rover-1"
    api.create(deployment("none", node_selector={"gpu": "hopper"}))
    none = next(p for p in api.list("v1", "pods", "default") if p["metadata"]["name"].startswith("none-"))
    assert "2 node(s) didn't match Pod's node affinity/selector" in unschedulable_message(none)


def test_least_allocated_node_wins(api):
    api.create(node("rover-1", cpu="4"))
    api.create(node("rover-2", cpu="4"))
    api.create(deployment("a", requests={"cpu": "2"}))
    api.create(deployment("b", requests={"cpu": "1"}))
    nodes = {p["metadata"]["name"][0]: p["spec"]["nodeName"] for p in api.list("v1", "pods", "default")}
    assert nodes["a"] != nodes["b"]


def test_pod_count_limit(api):
    api.create(node("rover-1", pods="1"))
    api.create(deployment("desk", replicas=2))
    pending = [p for p in api.list("v1", "pods", "default") if p["status"]["phase"] == "Pending"]
    assert "1 Too many pods" in unschedulable_message(pending[0])


def test_drain_evicts_to_another_node(api):
    api.create(node("rover-1"))
    api.create(node("rover-2"))
    api.create(deployment("desk"))
    first = only_pod(api)["spec"]["nodeName"]
    api.patch("v1", "nodes", first, {"spec": {"unschedulable": True}}, namespace=None)
    from fakekube.options import WriteOptions

    api.server.evict("default", only_pod(api)["metadata"]["name"], {}, WriteOptions())
    assert only_pod(api)["spec"]["nodeName"] != first


def test_pods_of_a_deleted_node_are_collected_and_replaced(api):
    api.create(node("rover-1"))
    api.create(node("rover-2"))
    api.create(deployment("desk"))
    first = only_pod(api)
    api.delete("v1", "nodes", first["spec"]["nodeName"], namespace=None)
    replacement = only_pod(api)
    assert replacement["metadata"]["name"] != first["metadata"]["name"]
    assert replacement["spec"]["nodeName"] != first["spec"]["nodeName"]


def test_runtime_class_and_priority_class_admission(api):
    body = deployment("desk")
    body["spec"]["template"]["spec"].update(runtimeClassName="nvidia", priorityClassName="system-node-critical")
    api.create(body)
    pod = only_pod(api)
    assert pod["spec"]["priority"] == 2000001000 and pod["status"]["phase"] == "Running"
    missing = deployment("sandboxed")
    missing["spec"]["template"]["spec"]["runtimeClassName"] = "gvisor"
    api.create(missing)
    status = api.get("apps/v1", "deployments", "sandboxed")["status"]
    failure = next(c for c in status["conditions"] if c["type"] == "ReplicaFailure")
    assert failure["reason"] == "FailedCreate"
    assert failure["message"].endswith('is forbidden: pod rejected: RuntimeClass "gvisor" not found')
