"""playbooks/node_reboot.yml end to end: a real reboot of a systemd container, the API half against a real
Kubernetes control plane.

What is real: the playbook and roles/node_reboot, kubernetes.core's k8s_drain/k8s_info talking to a real
kube-apiserver with its controllers and scheduler (tests/kubeapi: the k3s stand-in's control plane on
loopback; the Node is registered through the API as k3s's kubelet would), and a reboot: `shutdown -r`
inside a Debian 12 container with systemd as PID 1, which the engine starts again (restart policy
"always"); a container shares the host's boot_id, so the boot is detected from PID 1's start time.
What is a stand-in: the node's GPU. The container has none; nvidia_gpu_info reads a fake sysfs/procfs tree
of the lab's RTX 2060 SUPER node (tests/unit/fixtures/gpu-host) copied into the container, and an
nvidia-smi stand-in that prints output captured on such a node. The Node's allocatable nvidia.com/gpu is
what the test sets, as the device plugin would.
"""

import importlib.util
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

import docker
import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from kubeapi import Api, ControlPlane  # noqa: E402  (after the path setup above)
from testkit import wait_for  # noqa: E402

_spec = importlib.util.spec_from_file_location("fakehost", REPO / "tests/unit/fixtures/gpu-host/fakehost.py")
fakehost = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakehost)

IMAGE = "roverlab/debian12-systemd:bookworm"
GPU_ROOT = "/opt/standin-gpu-host"
BOOT_TIME_COMMAND = "awk '{print $22}' /proc/1/stat"


# --- a rover node: systemd container that comes back after a reboot -----------------------------------------


@pytest.fixture
def node(tmp_path):
    client = docker.from_env()
    name = "nvidia-reboot-%s" % uuid.uuid4().hex[:8]
    container = client.containers.run(
        IMAGE,
        command="/lib/systemd/systemd",
        name=name,
        hostname=name,
        detach=True,
        privileged=True,
        cgroupns="private",
        stop_signal="SIGRTMIN+3",
        tmpfs={"/run": "", "/run/lock": "", "/tmp": ""},
        restart_policy={"Name": "always"},
    )
    try:
        wait_for_systemd(container)
        copy_gpu_host(container, tmp_path / "gpu-host")
        yield container
    finally:
        container.remove(force=True, v=True)


def wait_for_systemd(container, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "running":
            state = container.exec_run(["systemctl", "is-system-running"]).output.decode().strip()
            if state in ("running", "degraded"):
                return
        time.sleep(1)
    raise AssertionError("systemd did not come up in %s" % container.name)


def copy_gpu_host(container, build_dir):
    """The stand-in GPU: the RTX 2060 SUPER node's sysfs/procfs and nvidia-smi output, under GPU_ROOT."""
    fakehost.build_host("rtx2060s-with-driver", build_dir)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.add(str(build_dir), arcname=Path(GPU_ROOT).name)
    container.put_archive(str(Path(GPU_ROOT).parent), archive.getvalue())


def pid1_start(container):
    return container.exec_run(["sh", "-c", BOOT_TIME_COMMAND]).output.decode().strip()


def restart_count(container):
    container.reload()
    return container.attrs["RestartCount"]


# --- the API: a real control plane with the node registered as k3s's kubelet would ---------------------------


def register_node(api, name, gpus):
    # what the node's kubelet registers, and the GPUs the device plugin reports
    api.add_node(name, gpus=gpus, cpu="4", memory="8Gi")
    # The API server's admission (TaintNodesByCondition) taints a new node node.kubernetes.io/not-ready; the
    # node-lifecycle controller lifts that taint once the node reports Ready. That controller is off in the API tier
    # (no kubelet heartbeats), so the test lifts it as the controller would; other taints stay.
    node = node_object(api, name)
    taints = [t for t in node["spec"].get("taints") or [] if t["key"] != "node.kubernetes.io/not-ready"]
    lifted = {"spec": {"taints": taints or None}}
    api.request("PATCH", "/api/v1/nodes/%s" % name, lifted, "application/merge-patch+json")


def create_workload(api):
    """A Deployment whose Pod the scheduler puts on the only schedulable node, shown running as its kubelet would."""
    api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab"}})
    labels = {"app": "sim"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "sim", "namespace": "lab"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "sim", "image": "sim:1", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]
                },
            },
        },
    }
    api.create("/apis/apps/v1/namespaces/lab/deployments", deployment)


def pods_on(api, node_name):
    pods = api.items("/api/v1/namespaces/lab/pods")
    return sorted(p["metadata"]["name"] for p in pods if (p.get("spec") or {}).get("nodeName") == node_name)


def node_object(api, name):
    return api.get("/api/v1/nodes/%s" % name)


# --- running the playbook ------------------------------------------------------------------------------------------


def run_playbook(tmp_path, api, hosts, playbook="playbooks/node_reboot.yml"):
    """Run PLAYBOOK on HOSTS ({inventory name: (container, Kubernetes node name)})."""
    inventory = {
        "all": {
            "children": {
                "k3s_cluster": {
                    "hosts": {
                        alias: {
                            "ansible_connection": "community.docker.docker_api",
                            "ansible_host": container.name,
                            "ansible_docker_docker_host": os.environ["DOCKER_HOST"],
                            "node_reboot_node_name": node_name,
                        }
                        for alias, (container, node_name) in hosts.items()
                    },
                    "vars": {
                        "roverlab_kubeconfig": str(api.kubeconfig),
                        "node_reboot_boot_time_command": BOOT_TIME_COMMAND,
                        "node_reboot_gpu_info_root": GPU_ROOT,
                        "node_reboot_nvidia_smi": GPU_ROOT + "/nvidia-smi",
                        "node_reboot_timeout": 120,
                        "node_reboot_ready_timeout": 60,
                        "node_reboot_gpu_timeout": 10,
                        "node_reboot_drain_timeout": 30,
                    },
                }
            },
            "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
        }
    }
    inventory_path = tmp_path / "inventory.json"
    inventory_path.write_text(json.dumps(inventory))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", TMPDIR=str(tmp_path))
    command = ["ansible-playbook", "-i", str(inventory_path), str(REPO / playbook)]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    (tmp_path / "ansible.log").write_text(result.stdout + result.stderr)
    return result


# --- tests --------------------------------------------------------------------------------------------------------


def test_gpu_node_is_drained_rebooted_verified_and_uncordoned(tmp_path, node):
    with ControlPlane(tmp_path / "api") as control_plane:
        api = Api(control_plane)
        register_node(api, node.name, gpus=1)
        create_workload(api)
        api.run_kubelets()
        [pod_before] = wait_for(lambda: pods_on(api, node.name))
        boot_before = pid1_start(node)

        result = run_playbook(tmp_path, api, {"rover": (node, node.name)})

        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
        assert pid1_start(node) != boot_before  # PID 1 started again: the node rebooted
        assert restart_count(node) == 1
        assert "Reboot the node" in result.stdout
        assert "nvidia-smi sees NVIDIA GeForce RTX 2060 SUPER on driver 535.309.01" in result.stdout
        # drained (the pod was evicted), then uncordoned: the Deployment's new pod lands on the node again
        assert not node_object(api, node.name)["spec"].get("unschedulable")
        pods_after = wait_for(lambda: pods_on(api, node.name))
        assert pod_before not in pods_after


def test_node_stays_cordoned_when_its_gpus_do_not_come_back(tmp_path, node):
    with ControlPlane(tmp_path / "api") as control_plane:
        api = Api(control_plane)
        register_node(api, node.name, gpus=0)  # the device plugin offers nothing after the boot

        result = run_playbook(tmp_path, api, {"rover": (node, node.name)})

        assert result.returncode != 0
        assert "Wait until the cluster offers the node's GPUs again" in result.stdout
        assert restart_count(node) == 1
        assert node_object(api, node.name)["spec"].get("unschedulable") is True


def test_two_cluster_nodes_in_one_batch_are_refused(tmp_path, node):
    """A play without serial: 1 that would take two nodes down at once stops before touching either."""
    playbook = tmp_path / "parallel.yml"
    playbook.write_text(
        "- hosts: k3s_cluster\n  gather_facts: false\n  roles:\n    - role: roverlab.clouddesktop.node_reboot\n"
    )
    with ControlPlane(tmp_path / "api") as control_plane:
        api = Api(control_plane)
        register_node(api, node.name, gpus=1)
        second = "%s-b" % node.name
        register_node(api, second, gpus=1)
        # two inventory hosts (one container is enough: nothing may happen to either)
        result = run_playbook(tmp_path, api, {"rover-a": (node, node.name), "rover-b": (node, second)}, str(playbook))
        assert result.returncode != 0
        assert "want to reboot in the same batch" in result.stdout
        assert restart_count(node) == 0
        assert not node_object(api, node.name)["spec"].get("unschedulable")
        assert not node_object(api, second)["spec"].get("unschedulable")
