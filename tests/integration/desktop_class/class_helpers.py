"""Helpers of the class-operation tests on the API tier: the idle culler's ServiceAccount and its shipped runner.

The API tier has no kubelets, so no exec reaches a desktop: the runner reads each desktop's probe output from files
(--activity-dir, a STAND-IN for the exec into the desktop, in the desktop image's report format).
"""

import base64
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import yaml

NS = "clouddesktop-prod"
CULLER_NS = "clouddesktop-culler"
USERS = ["alice", "bob", "carol", "dave"]
GPU_MARKER = "--roverlab-gpu--"


def probe_text(now, connections=0, ros=0, gpu="none"):
    report = {
        "version": 1,
        "time": now,
        "interval": 30,
        "connections": {"novnc": connections, "vnc": 0, "vscode": 0, "ssh": 0},
        "ros": {
            "count": ros,
            "processes": [{"pid": 40, "command": "/usr/bin/python3 /usr/bin/roslaunch demo x"}] * ros,
        },
        "cpu": {"usage_usec": 1000, "percent": 0.2},
        "last_active": None,
    }
    return "%s\n%s\n%s\n" % (json.dumps(report), GPU_MARKER, gpu)


class ServiceAccountClient:
    """Requests to the API server as the culler's ServiceAccount (a token from the TokenRequest API)."""

    def __init__(self, kube, directory):
        config = yaml.safe_load(kube.kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        self.server = cluster["server"]
        self.ca_file = directory / "ca.crt"
        self.ca_file.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        answer = kube.create(
            "/api/v1/namespaces/%s/serviceaccounts/desktop-culler/token" % CULLER_NS,
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}},
        )
        self.token = answer["status"]["token"]
        self.token_file = directory / "token"
        self.token_file.write_text(self.token)
        self.context = ssl.create_default_context(cafile=str(self.ca_file))

    def can(self, verb, resource, namespace=None, name=None, subresource=None, group=""):
        attributes = {"verb": verb, "resource": resource, "group": group}
        for key, value in (("namespace", namespace), ("name", name), ("subresource", subresource)):
            if value:
                attributes[key] = value
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        request = urllib.request.Request(  # noqa: S310 (the test's API server on loopback)
            self.server + "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": "Bearer " + self.token, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=self.context, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read())["status"]["allowed"]

    def get(self, path):
        request = urllib.request.Request(  # noqa: S310
            self.server + path, headers={"Authorization": "Bearer " + self.token}
        )
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as answer:  # noqa: S310
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code


def install_culler(lab, **settings):
    extra = dict({"desktop_culler_cluster": True, "desktop_culler_idle_timeout": 2}, **settings)
    args = []
    for key, value in extra.items():
        args += ["-e", "%s=%s" % (key, json.dumps(value) if not isinstance(value, str) else value)]
    return lab.run("desktop_culler", *args)


def shipped_runner(kube, directory):
    """The runner, the rules and the settings exactly as the role put them into the culler's ConfigMap."""
    data = kube.get("/api/v1/namespaces/%s/configmaps/desktop-culler" % CULLER_NS)["data"]
    code = directory / "code"
    code.mkdir()
    for name in ("desktop_culler.py", "idle.py", "config.json"):
        (code / name).write_text(data[name])
    return code


def run_pass(code, client, activity, probes):
    now = time.time()
    for user, (connections, ros, gpu) in probes.items():
        (activity / NS).mkdir(parents=True, exist_ok=True)
        (activity / NS / ("%s.txt" % user)).write_text(probe_text(now, connections, ros, gpu))
    proc = subprocess.run(
        [
            sys.executable,
            str(code / "desktop_culler.py"),
            "--config",
            str(code / "config.json"),
            "kubernetes",
            "--server",
            client.server,
            "--token-file",
            str(client.token_file),
            "--ca-file",
            str(client.ca_file),
            "--activity-dir",
            str(activity),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def schedulable_node(kube, name, **kwargs):
    """A node that pods can be scheduled to. Api.add_node registers it as a kubelet does; the API server's admission
    then taints a new node not-ready, which kube-controller-manager's node-lifecycle controller (off in the API tier)
    would lift once the node reports Ready: the test lifts it, as that controller would. The RuntimeClass nvidia of
    GPU desktops is made as the gpu_device_plugin role makes it."""
    kube.add_node(name, **kwargs)
    kube.request("PATCH", "/api/v1/nodes/%s" % name, {"spec": {"taints": None}}, "application/merge-patch+json")
    if kwargs.get("gpus") and kube.get("/apis/node.k8s.io/v1/runtimeclasses/nvidia") is None:
        kube.create(
            "/apis/node.k8s.io/v1/runtimeclasses",
            {
                "apiVersion": "node.k8s.io/v1",
                "kind": "RuntimeClass",
                "metadata": {"name": "nvidia"},
                "handler": "nvidia",
            },
        )
