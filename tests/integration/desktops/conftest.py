"""Fixtures for the desktop tests: a real Kubernetes control plane, a moto Route53, and ansible-playbook runs.

The Kubernetes API is real: etcd, kube-apiserver, kube-controller-manager and kube-scheduler from the k3s
stand-in's binary (tests/kubeapi), started per test on loopback. Nodes are registered through the API by the
test, as kubelets would; there are no kubelets (see tests/kubeapi). Route53 is a STAND-IN: a moto server on
loopback. Both are started per test and stopped by PID.
"""

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

from kubeapi import Api, ControlPlane  # noqa: E402  (tests/ is put on the path just above)

VENV_BIN = Path(sys.executable).parent
RECAP_RE = re.compile(r"^localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
ZONE = "example.org"
DOMAIN = "ros.example.org"


class DesktopApi(Api):
    """The fixture's API with nodes that pods can be scheduled to."""

    def add_node(self, name, gpus=0, cpu="24", memory="32Gi", labels=None, taints=None, schedulable=True):
        """Register a Ready node (Api.add_node), then lift the not-ready taint that the API server's admission gives
        every new node, as kube-controller-manager's node-lifecycle controller (off in the API tier) would once the
        node reports Ready; the node keeps the taints the test gives it. ``schedulable=False`` keeps that taint."""
        created = super().add_node(name, gpus=gpus, cpu=cpu, memory=memory, labels=labels, taints=taints)
        if schedulable:
            body = {"spec": {"taints": taints}}
            self.request("PATCH", "/api/v1/nodes/%s" % name, body, "application/merge-patch+json")
        return created


@pytest.fixture
def kube(tmp_path):
    with ControlPlane(tmp_path / "kube") as control_plane:
        yield DesktopApi(control_plane)


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
    """Runs the collection's playbooks against the API server (and moto) with an inventory written per test."""

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
        variables = dict(self.settings, desktop_users=self.users, roverlab_kubeconfig=str(self.kube.kubeconfig))
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
