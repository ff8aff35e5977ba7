"""kubectl against fakekube: apply (client-side and server-side), get, scale, delete, wait (also on watch)."""

import shutil
import subprocess
import time

import pytest
from fakekube.testing import FakeKube

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (it is optional for these tests)")

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata:
  name: kubectl-test
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: desk
  namespace: kubectl-test
spec:
  replicas: 2
  selector:
    matchLabels: {app: desk}
  template:
    metadata:
      labels: {app: desk}
    spec:
      containers:
      - name: main
        image: registry.example/desk:IMAGE_TAG
"""


def kubectl(served, *args, check=True):
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(served.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def apply(served, tmp_path, tag, *extra):
    manifest = tmp_path / ("desk-%s.yaml" % tag)
    manifest.write_text(MANIFEST.replace("IMAGE_TAG", tag))
    return kubectl(served, "apply", "--validate=false", *extra, "-f", str(manifest))


def test_apply_get_and_reapply(served, tmp_path):
    first = apply(served, tmp_path, "1")
    assert "namespace/kubectl-test created" in first.stdout
    assert "deployment.apps/desk created" in first.stdout
    again = apply(served, tmp_path, "1")
    assert "deployment.apps/desk unchanged" in again.stdout
    pods = kubectl(served, "get", "pods", "-n", "kubectl-test", "-o", "name").stdout.split()
    assert len(pods) == 2 and all(p.startswith("pod/desk-") for p in pods)
    image = kubectl(
        served,
        "get",
        "deploy",
        "desk",
        "-n",
        "kubectl-test",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ).stdout
    assert image == "registry.example/desk:1"


def test_changed_manifest_is_configured(served, tmp_path):
    apply(served, tmp_path, "1")
    changed = apply(served, tmp_path, "2")
    assert "deployment.apps/desk configured" in changed.stdout
    wait = kubectl(served, "wait", "-n", "kubectl-test", "--for=condition=Available", "deploy/desk", "--timeout=5s")
    assert "condition met" in wait.stdout


def test_server_side_apply(served, tmp_path):
    result = apply(served, tmp_path, "3", "--server-side", "--force-conflicts")
    assert "serverside-applied" in result.stdout
    managers = kubectl(
        served,
        "get",
        "deploy",
        "desk",
        "-n",
        "kubectl-test",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ).stdout.split()
    assert "kubectl" in managers


def test_wait_for_delete_follows_the_watch(tmp_path):
    """kubectl wait lists, then watches; the object goes away only after the watch is open."""
    with FakeKube(tmp_path, extra_args=["--verbose"]) as server:
        kubectl(server, "create", "configmap", "held")
        kubectl(server, "patch", "configmap", "held", "--type=merge", "-p", '{"metadata":{"finalizers":["x/y"]}}')
        kubectl(server, "delete", "configmap", "held", "--wait=false")
        waiting = subprocess.Popen(
            [
                KUBECTL,
                "--kubeconfig",
                str(server.kubeconfig),
                "wait",
                "--for=delete",
                "configmap/held",
                "--timeout=30s",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while "watch=true" not in server.log() and time.monotonic() < deadline:
                time.sleep(0.1)
            kubectl(server, "patch", "configmap", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
            out, err = waiting.communicate(timeout=30)
        finally:
            if waiting.poll() is None:
                waiting.kill()
                waiting.communicate()
        assert waiting.returncode == 0, err
        assert "configmap/held condition met" in out


def test_get_missing_and_delete_namespace(served, tmp_path):
    missing = kubectl(served, "get", "configmap", "nope", check=False)
    assert missing.returncode != 0 and 'configmaps "nope" not found' in missing.stderr
    apply(served, tmp_path, "1")
    kubectl(served, "delete", "namespace", "kubectl-test", "--wait=false")
    gone = kubectl(served, "get", "namespace", "kubectl-test", check=False)
    assert gone.returncode != 0
