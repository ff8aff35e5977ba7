"""Verify the k3s roles on a server and an agent (molecule scenario `k3s`).

The nodes run the k3s STAND-IN from tests/standins/k3s (the real k3s binary cannot be downloaded here),
installed by the roles from a local airgap directory. It runs the real Kubernetes components and containerd 2,
built from their Go modules, with the config it renders the way k3s does (docs/testing.md). This file runs
twice: after the converge (v1.31.5+k3s1, containerd 1.7 template layout) and after side_effect.yml upgraded
both nodes (v1.31.6+k3s1, containerd 2 layout).
"""

import hashlib
import json
import os
from pathlib import Path

import pytest
import tomllib
import yaml

SERVER = "molecule-k3s-server"
AGENT = "molecule-k3s-agent"
CONTAINERD_DIR = "/var/lib/rancher/k3s/agent/etc/containerd"
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
UNITS = {SERVER: "k3s", AGENT: "k3s-agent"}


def _name(host):
    return host.backend.get_hostname()


@pytest.fixture(scope="module")
def expected_version(host):
    marker = Path(os.environ.get("K3S_EXPECTED_VERSION_FILE", EPHEMERAL / "expected-k3s-version"))
    if marker.exists():
        return marker.read_text().strip()
    return host.ansible.get_variables()["k3s_version"]


@pytest.fixture(scope="module")
def containerd2(expected_version):
    return expected_version == "v1.31.6+k3s1"


def _toml(host, path):
    return tomllib.loads(host.file(path).content_string)


def test_binary_is_the_checksum_verified_release(host, expected_version):
    sums = (EPHEMERAL / "airgap" / expected_version / "sha256sum-amd64.txt").read_text()
    expected = dict(line.split()[::-1] for line in sums.splitlines())["k3s"]
    binary = host.file("/usr/local/bin/k3s")
    assert binary.mode == 0o755 and binary.user == "root"
    assert hashlib.sha256(binary.content).hexdigest() == expected
    version = host.check_output("k3s --version")
    assert version.splitlines()[0].split()[2] == expected_version
    assert "stand-in" in version  # the stand-in says what it is


def test_images_tarball_in_place(host, expected_version):
    sums = (EPHEMERAL / "airgap" / expected_version / "sha256sum-amd64.txt").read_text()
    expected = dict(line.split()[::-1] for line in sums.splitlines())["k3s-airgap-images-amd64.tar"]
    tarball = host.file("/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar")
    assert hashlib.sha256(tarball.content).hexdigest() == expected
    assert host.run("ls /var/lib/rancher/k3s/agent/images").stdout.split() == ["k3s-airgap-images-amd64.tar"]


def test_service_enabled_and_active(host):
    unit = UNITS[_name(host)]
    service = host.service(unit)
    assert service.is_enabled and service.is_running
    assert host.run("systemctl show -p Type --value %s" % unit).stdout.strip() == "notify"
    other = host.run("systemctl list-unit-files --no-legend %s.service" % ({"k3s", "k3s-agent"} - {unit}).pop())
    assert other.stdout.strip() == ""


def test_config_yaml_is_root_only_and_rendered_from_variables(host):
    config_file = host.file("/etc/rancher/k3s/config.yaml")
    assert (config_file.user, config_file.group, config_file.mode) == ("root", "root", 0o600)
    config = yaml.safe_load(config_file.content_string)
    if _name(host) == SERVER:
        # no token set: the server made its own, which the agent read from node-token
        assert "token" not in config
        assert config == {
            "flannel-backend": "vxlan",
            "disable": ["traefik", "servicelb"],
            "write-kubeconfig-mode": "0600",
        }
        node_token = host.file("/var/lib/rancher/k3s/server/node-token")
        assert node_token.mode == 0o600
    else:
        assert not host.file("/var/lib/rancher/k3s/server/node-token").exists  # servers only
        assert config["server"].startswith("https://") and config["server"].endswith(":6443")
        assert config["node-label"] == ["roverlab.io/gpu=rtx2060s", "node.kubernetes.io/role-hint=desktop"]
        assert config["node-taint"] == ["roverlab.io/gpu=true:PreferNoSchedule"]
        assert config["default-runtime"] == "nvidia"  # k3s >= v1.28.5 on a GPU node in auto mode
        assert config["token"].startswith("K10") and "::server:" in config["token"]


def test_agent_joined_the_server_with_its_labels_and_taints(host, expected_version):
    if _name(host) != SERVER:
        pytest.skip("asked at the server")
    nodes = json.loads(host.check_output("k3s kubectl get nodes -o json"))["items"]
    by_name = {n["metadata"]["name"]: n for n in nodes}
    assert set(by_name) == {SERVER, AGENT}
    agent = by_name[AGENT]
    assert agent["metadata"]["labels"]["roverlab.io/gpu"] == "rtx2060s"
    assert "node-role.kubernetes.io/control-plane" not in agent["metadata"]["labels"]
    assert agent["spec"]["taints"] == [{"key": "roverlab.io/gpu", "value": "true", "effect": "PreferNoSchedule"}]
    assert by_name[SERVER]["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == "true"
    for node in nodes:
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready[0]["status"] == "True"
        assert node["status"]["nodeInfo"]["kubeletVersion"] == expected_version


def test_kubeconfig_on_the_controller_reaches_the_api(host):
    if _name(host) != SERVER:
        pytest.skip("checked once")
    from kubernetes import client, config

    path = EPHEMERAL / "kubeconfig.yaml"
    assert path.stat().st_mode & 0o777 == 0o600
    kubeconfig = yaml.safe_load(path.read_text())
    server = kubeconfig["clusters"][0]["cluster"]["server"]
    assert "127.0.0.1" not in server and server.endswith(":6443")
    api = client.CoreV1Api(config.new_client_from_config(str(path)))
    assert {n.metadata.name for n in api.list_node().items} == {SERVER, AGENT}


def test_containerd_templates_match_the_release(host, containerd2):
    names = set(host.run("ls %s" % CONTAINERD_DIR).stdout.split())
    if _name(host) == SERVER:
        # k3s_nvidia_runtime=template: the right name for the release, the other one removed
        expected = "config-v3.toml.tmpl" if containerd2 else "config.toml.tmpl"
        assert names == {expected, "config.toml"}
        template = host.file("%s/%s" % (CONTAINERD_DIR, expected)).content_string
        assert '{{ template "base" . }}' in template
    else:
        # default-runtime in config.yaml: no template at all
        assert names == {"config.toml"}


def test_rendered_containerd_config_has_the_nvidia_runtime(host, containerd2):
    config = _toml(host, CONTAINERD_DIR + "/config.toml")
    if containerd2:
        assert config["version"] == 3
        cri = config["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]
    else:
        assert config["version"] == 2
        cri = config["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]
    nvidia = cri["runtimes"]["nvidia"]
    assert nvidia["runtime_type"] == "io.containerd.runc.v2"
    assert nvidia["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
    assert nvidia["options"]["SystemdCgroup"] == cri["runtimes"]["runc"]["options"]["SystemdCgroup"]
    if _name(host) == AGENT:
        assert cri["default_runtime_name"] == "nvidia"
    else:
        assert "default_runtime_name" not in cri


def test_real_containerd_runs_with_the_rendered_config(host, containerd2):
    process = host.process.get(comm="containerd")
    assert "--config /var/lib/rancher/k3s/agent/etc/containerd/config.toml" in process.args
    main_pid = int(host.check_output("systemctl show -p MainPID --value %s" % UNITS[_name(host)]))
    assert process.ppid == main_pid  # k3s's own child, as with the real k3s
    # the containerd the stand-in carries (2.x) loads the rendered file: a version 2 one is migrated
    containerd = "/var/lib/rancher/k3s/data/current/bin/containerd"
    dump = tomllib.loads(host.check_output("%s --config %s/config.toml config dump" % (containerd, CONTAINERD_DIR)))
    runtimes = dump["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]
    assert runtimes["nvidia"]["options"]["BinaryName"] == "/usr/bin/nvidia-container-runtime"
    # k3s imports the airgap images at start: the pause image every pod needs
    journal = host.check_output("journalctl -u %s --no-pager -o cat" % UNITS[_name(host)])
    assert "docker.io/rancher/mirrored-pause:3.6" in journal


def test_one_containerd_after_each_restart(host):
    # the containerd of the release before an upgrade stopped with it (Pdeathsig); only the new one runs
    assert len(host.process.filter(comm="containerd")) == 1
