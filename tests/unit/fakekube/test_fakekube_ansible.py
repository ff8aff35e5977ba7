"""End to end: the real kubernetes.core k8s, k8s_info and k8s_drain modules against fakekube (a STAND-IN for
kube-apiserver), driven by ansible-playbook from the project's venv."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Client, node
from fakekube.testing import FakeKube

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
COLLECTIONS = [REPO / "collections", REPO / ".cache" / "collections"]
KUBERNETES_CORE = REPO / ".cache" / "collections" / "ansible_collections" / "kubernetes" / "core"

pytestmark = pytest.mark.skipif(
    not ANSIBLE_PLAYBOOK.exists() or not KUBERNETES_CORE.is_dir(),
    reason="needs ansible-playbook in the venv and kubernetes.core in .cache/collections (scripts/setup.sh)",
)

DESK = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "desktop", "namespace": "desk-e2e", "labels": {"app": "desktop"}},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "desktop"}},
        "template": {
            "metadata": {"labels": {"app": "desktop"}},
            "spec": {
                "containers": [
                    {
                        "name": "desktop",
                        "image": "registry.example/desk:{{ desk_tag }}",
                        "resources": {"limits": {"nvidia.com/gpu": 1}},
                    }
                ]
            },
        },
    },
}

CONVERGE = [
    {
        "name": "Converge a desktop through kubernetes.core",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars": {"desk_tag": "1"},
        "module_defaults": {"group/kubernetes.core.k8s": {"kubeconfig": "{{ kubeconfig }}"}},
        "tasks": [
            {
                "name": "Namespace",
                "kubernetes.core.k8s": {
                    "definition": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "desk-e2e"}}
                },
            },
            {
                "name": "Objects",
                "kubernetes.core.k8s": {
                    "definition": [
                        {
                            "apiVersion": "v1",
                            "kind": "Secret",
                            "metadata": {"name": "vnc", "namespace": "desk-e2e"},
                            "stringData": {"password": "not-a-real-secret"},
                        },
                        {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": "settings", "namespace": "desk-e2e"},
                            "data": {"resolution": "1920x1080"},
                        },
                        {
                            "apiVersion": "v1",
                            "kind": "Service",
                            "metadata": {"name": "desktop", "namespace": "desk-e2e"},
                            "spec": {"selector": {"app": "desktop"}, "ports": [{"name": "http", "port": 80}]},
                        },
                    ]
                },
                "no_log": True,
            },
            {
                "name": "Deployment, waiting until it is available",
                "kubernetes.core.k8s": {"definition": DESK, "wait": True, "wait_timeout": 30},
            },
            {
                "name": "Read it back",
                "kubernetes.core.k8s_info": {
                    "kind": "Pod",
                    "namespace": "desk-e2e",
                    "label_selectors": ["app=desktop"],
                },
                "register": "pods",
            },
            {
                "name": "One running pod on a GPU node",
                "ansible.builtin.assert": {
                    "that": [
                        "pods.resources | length == 1",
                        "pods.resources[0].status.phase == 'Running'",
                        "pods.resources[0].spec.nodeName in ['rover-1', 'rover-2']",
                    ]
                },
            },
        ],
    }
]

LIFECYCLE = [
    {
        "name": "Drain a node, then delete the namespace",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "module_defaults": {"group/kubernetes.core.k8s": {"kubeconfig": "{{ kubeconfig }}"}},
        "tasks": [
            {
                "name": "Find the desktop pod",
                "kubernetes.core.k8s_info": {
                    "kind": "Pod",
                    "namespace": "desk-e2e",
                    "label_selectors": ["app=desktop"],
                },
                "register": "before",
            },
            {
                "name": "Drain its node",
                "kubernetes.core.k8s_drain": {
                    "name": "{{ before.resources[0].spec.nodeName }}",
                    "state": "drain",
                    "delete_options": {"ignore_daemonsets": True, "wait_timeout": 10},
                },
                "register": "drained",
            },
            {
                "name": "Read the pods again",
                "kubernetes.core.k8s_info": {
                    "kind": "Pod",
                    "namespace": "desk-e2e",
                    "label_selectors": ["app=desktop"],
                },
                "register": "after",
            },
            {
                "name": "Read the drained node",
                "kubernetes.core.k8s_info": {"kind": "Node", "name": "{{ before.resources[0].spec.nodeName }}"},
                "register": "drained_node",
            },
            {
                "name": "The pod moved to the other node and the drained one is cordoned",
                "ansible.builtin.assert": {
                    "that": [
                        "drained is changed",
                        "after.resources | length == 1",
                        "after.resources[0].metadata.name != before.resources[0].metadata.name",
                        "after.resources[0].spec.nodeName != before.resources[0].spec.nodeName",
                        "drained_node.resources[0].spec.unschedulable",
                    ]
                },
            },
            {
                "name": "Delete the namespace",
                "kubernetes.core.k8s": {
                    "api_version": "v1",
                    "kind": "Namespace",
                    "name": "desk-e2e",
                    "state": "absent",
                    "wait": True,
                    "wait_timeout": 30,
                },
            },
            {
                "name": "Look for what was inside",
                "kubernetes.core.k8s_info": {"kind": "ConfigMap", "namespace": "desk-e2e"},
                "register": "leftovers",
            },
            {
                "name": "The namespace took its contents with it",
                "ansible.builtin.assert": {"that": ["leftovers.resources | length == 0"]},
            },
            {
                "name": "Delete again",
                "kubernetes.core.k8s": {
                    "api_version": "v1",
                    "kind": "Namespace",
                    "name": "desk-e2e",
                    "state": "absent",
                },
                "register": "again",
            },
            {"name": "Nothing left to delete", "ansible.builtin.assert": {"that": ["again is not changed"]}},
        ],
    }
]


def write_playbook(directory, name, plays):
    path = directory / name
    path.write_text(json.dumps(plays, indent=1))  # JSON is YAML
    return path


def run_playbook(directory, kubeconfig, playbook, *extra):
    """Run ansible-playbook with its own TMPDIR (kubernetes.core caches discovery in tempfile.gettempdir())."""
    run_dir = Path(directory) / ("run-%d" % len(list(Path(directory).glob("run-*"))))
    run_dir.mkdir()
    config = run_dir / "ansible.cfg"
    config.write_text("[defaults]\nstdout_callback = default\nretry_files_enabled = false\n")
    env = dict(
        os.environ,
        TMPDIR=str(run_dir),
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_HOME=str(run_dir / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(run_dir / "ansible-tmp"),
        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(str(p) for p in COLLECTIONS),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        PATH=os.pathsep.join([str(ANSIBLE_PLAYBOOK.parent), os.environ.get("PATH", "")]),
    )
    command = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(playbook), "-e", "kubeconfig=%s" % kubeconfig, *extra]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    recap = re.search(r"localhost\s+: ok=(\d+)\s+changed=(\d+)", result.stdout)
    return int(recap.group(2))


@pytest.fixture
def cluster(tmp_path):
    with FakeKube(tmp_path / "server") as api:
        client = Client(api.url)
        client.request("POST", "/api/v1/nodes", node("rover-1", gpus=1))
        client.request("POST", "/api/v1/nodes", node("rover-2", gpus=1))
        yield api, client


def test_kubernetes_core_against_fakekube(tmp_path, cluster):
    api, client = cluster
    converge = write_playbook(tmp_path, "converge.yml", CONVERGE)
    assert run_playbook(tmp_path, api.kubeconfig, converge) == 3, "namespace, objects and deployment created"
    assert run_playbook(tmp_path, api.kubeconfig, converge) == 0, "second run is idempotent"

    stored = client.request("GET", "/apis/apps/v1/namespaces/desk-e2e/deployments/desktop")[1]
    assert run_playbook(tmp_path, api.kubeconfig, converge, "--check", "-e", "desk_tag=2") == 1
    unchanged = client.request("GET", "/apis/apps/v1/namespaces/desk-e2e/deployments/desktop")[1]
    assert unchanged["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"], "check mode wrote"
    secret = client.request("GET", "/api/v1/namespaces/desk-e2e/secrets/vnc")[1]
    assert "stringData" not in secret and secret["data"]["password"]

    lifecycle = write_playbook(tmp_path, "lifecycle.yml", LIFECYCLE)
    run_playbook(tmp_path, api.kubeconfig, lifecycle)
    assert client.request("GET", "/api/v1/namespaces/desk-e2e")[0] == 404
