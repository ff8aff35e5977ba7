"""Fixtures for the desktop tests: a fake Kubernetes API, a moto Route53, and ansible-playbook runs.

Stand-ins, named as such: the Kubernetes API is the project's fake API server (tests/fakekube, see
docs/fake-kube.md), Route53 is a moto server on loopback. Both are started per test and stopped by PID.
"""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
sys.path.append(str(REPO / "tests"))

from fakekube.testing import FakeKube  # noqa: E402  (tests/ is put on the path just above)

VENV_BIN = Path(sys.executable).parent
RECAP_RE = re.compile(r"^localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
ZONE = "example.org"
DOMAIN = "ros.example.org"


class Api:
    """Just enough of a client to look at what the playbooks left in the fake API server."""

    def __init__(self, fake):
        self.fake = fake
        self.url = fake.url

    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type}
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)  # noqa: S310 (http on loopback)
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and method == "GET":
                return None
            raise AssertionError(
                "%s %s: %s %s" % (method, path, exc.code, exc.read().decode(errors="replace"))
            ) from exc

    def get(self, path):
        return self.request("GET", path)

    def items(self, path):
        return (self.get(path) or {}).get("items", [])

    def create(self, path, body):
        return self.request("POST", path, body)

    def names(self, path):
        return sorted(item["metadata"]["name"] for item in self.items(path))

    def secret_value(self, namespace, name, key):
        secret = self.get("/api/v1/namespaces/%s/secrets/%s" % (namespace, name))
        return base64.b64decode(secret["data"][key]).decode()

    def add_node(self, name, gpus=0, cpu="24", memory="32Gi", labels=None):
        allocatable = {"cpu": cpu, "memory": memory, "pods": "110"}
        if gpus:
            allocatable["nvidia.com/gpu"] = str(gpus)
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": dict({"kubernetes.io/hostname": name}, **(labels or {}))},
            "status": {
                "capacity": allocatable,
                "allocatable": allocatable,
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
        return self.create("/api/v1/nodes", node)

    def all_objects(self):
        """(kind, namespace, name, resourceVersion) of everything a test might have changed."""
        found = []
        for path in (
            "/api/v1/namespaces",
            "/api/v1/secrets",
            "/api/v1/persistentvolumeclaims",
            "/api/v1/services",
            "/apis/apps/v1/deployments",
            "/apis/networking.k8s.io/v1/ingresses",
            "/apis/networking.k8s.io/v1/networkpolicies",
            "/api/v1/nodes",
        ):
            for item in self.items(path):
                meta = item["metadata"]
                found.append((path, meta.get("namespace"), meta["name"], meta["resourceVersion"]))
        return sorted(found)


@pytest.fixture
def kube(tmp_path):
    with FakeKube(tmp_path / "fakekube", kube_version="1.31.0") as fake:
        yield Api(fake)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def route53(tmp_path, monkeypatch):
    """A moto server on loopback holding the zone example.org; yields a boto3 Route53 client."""
    import boto3

    port = free_port()
    url = "http://127.0.0.1:%d" % port
    with open(tmp_path / "moto.log", "wb") as log:
        command = [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
        proc = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()  # noqa: S310 (http on loopback)
                break
            except (OSError, urllib.error.URLError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("moto did not start: %s" % (tmp_path / "moto.log").read_text()) from None
                time.sleep(0.1)
        client = boto3.client(
            "route53",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        zone = client.create_hosted_zone(Name=ZONE, CallerReference="desktop-tests")["HostedZone"]["Id"]
        client.endpoint = url
        client.zone_id = zone
        yield client
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def records(client):
    """{name: (type, [values])} of the A/AAAA/CNAME records in the test zone."""
    sets = client.list_resource_record_sets(HostedZoneId=client.zone_id)["ResourceRecordSets"]
    return {
        r["Name"].replace("\\052", "*").rstrip("."): (
            r["Type"],
            sorted(v["Value"] for v in r.get("ResourceRecords", [])),
        )
        for r in sets
        if r["Type"] in ("A", "AAAA", "CNAME")
    }


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.output = proc.stdout
        # messages wrap at the terminal width: compare text with whitespace folded
        self.text = " ".join(self.output.split())
        match = RECAP_RE.search(self.output)
        self.ok, self.changed, self.unreachable, self.failed = (
            (int(g) for g in match.groups()) if match else (0, 0, 0, 0)
        )

    def __repr__(self):
        return "<ansible rc=%s changed=%s failed=%s>\n%s" % (self.rc, self.changed, self.failed, self.output[-6000:])


class Lab:
    """Runs the collection's playbooks against the fake API (and moto) with an inventory written per test."""

    def __init__(self, tmp_path, kube, route53=None):
        self.tmp_path = tmp_path
        self.kube = kube
        self.route53 = route53
        self.users = []
        self.settings = {"cloud_desktop_domain": DOMAIN}
        self.hosts = {}
        self.runs = 0  # each run's output is kept as ansible-NN.log in the test's directory
        (tmp_path / "tmp").mkdir(exist_ok=True)

    def inventory(self):
        localhost = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        variables = dict(self.settings, desktop_users=self.users, roverlab_kubeconfig=str(self.kube.fake.kubeconfig))
        if self.route53 is not None:
            dns = {
                "cloud_desktop_dns": "records",
                "cloud_desktop_route53_zone": ZONE,
                "cloud_desktop_ingress_address": "203.0.113.10",
                "cloud_desktop_aws_endpoint_url": self.route53.endpoint,
            }
            variables = dict(dns, **variables)
        inventory = {"all": {"hosts": {"localhost": localhost}, "vars": variables}}
        if self.hosts:
            inventory["all"]["children"] = {"k3s_cluster": {"hosts": self.hosts}}
        path = self.tmp_path / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory))
        return path

    def run(self, playbook, *args, check=False, verbosity=0):
        """Run playbooks/<playbook>.yml (or a playbook path) and return its Result."""
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            TMPDIR=str(self.tmp_path / "tmp"),  # kubernetes.core's discovery cache: one per test
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            PATH="%s:%s" % (VENV_BIN, os.environ.get("PATH", "")),
        )
        for name in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "AWS_PROFILE"):
            env.pop(name, None)
        path = playbook if playbook.endswith(".yml") else "playbooks/%s.yml" % playbook
        command = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory()), path]
        command += (
            list(args) + (["--check", "--diff"] if check else []) + (["-" + "v" * verbosity] if verbosity else [])
        )
        proc = subprocess.run(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
            check=False,
        )
        self.runs += 1
        (self.tmp_path / ("ansible-%02d.log" % self.runs)).write_text("$ %s\n%s" % (" ".join(command), proc.stdout))
        return Result(proc)


@pytest.fixture
def lab(tmp_path, kube):
    return Lab(tmp_path, kube)


@pytest.fixture
def dns_lab(tmp_path, kube, route53):
    return Lab(tmp_path, kube, route53)
