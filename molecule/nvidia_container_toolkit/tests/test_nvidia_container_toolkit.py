"""Verify the nvidia_container_toolkit role against the STAND-IN repository (see molecule.yml)."""

import json

import pytest

PACKAGES = [
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
]
PINNED = "1.20.0-1"  # the role's default; the stand-in repository also offers 1.21.0-1


def k3s_node(host):
    return host.backend.get_hostname() == "nvidia-ctk-k3s"


@pytest.mark.parametrize("package", PACKAGES)
def test_pinned_version_installed_and_held(host, package):
    assert host.package(package).version == PINNED
    assert host.check_output("dpkg-query -W -f='${Status}' %s" % package).startswith("hold ")


def test_newer_version_was_available_but_not_taken(host):
    policy = host.check_output("apt-cache policy nvidia-container-toolkit")
    assert "Candidate: 1.21.0-1" in policy
    assert "Installed: 1.20.0-1" in policy


def test_source_is_signed_by_the_copied_key(host):
    sources = host.file("/etc/apt/sources.list.d/roverlab-nvidia-container-toolkit.sources").content_string
    assert "URIs: file:/srv/nvidia-standin-repo\n" in sources
    assert "Suites: /\n" in sources
    assert "Signed-By: /etc/apt/keyrings/roverlab-nvidia-container-toolkit.asc\n" in sources
    key = host.file("/etc/apt/keyrings/roverlab-nvidia-container-toolkit.asc")
    assert key.mode == 0o644
    assert "BEGIN PGP PUBLIC KEY BLOCK" in key.content_string
    # apt verified the stand-in's InRelease against that key (an unsigned or foreign one gives no candidate)
    assert "file:/srv/nvidia-standin-repo  Packages" in host.check_output("apt-cache policy")


def test_stand_in_binaries_say_so(host):
    assert "STAND-IN" in host.check_output("nvidia-ctk --version")
    assert host.file("/usr/bin/nvidia-container-runtime").exists


def test_k3s_node_not_configured_through_etc_containerd(host):
    if not k3s_node(host):
        pytest.skip("the Docker host")
    assert not host.file("/etc/containerd/conf.d/99-nvidia.toml").exists
    assert not host.file("/etc/containerd").exists


def test_k3s_restarted_once_after_the_install(host):
    if not k3s_node(host):
        pytest.skip("the Docker host")
    starts = host.file("/var/lib/standin-k3s/starts").content_string.splitlines()
    # prepare started it without the runtime; the handler restarted it once it was on PATH; the
    # idempotence run restarted nothing
    assert [line.split()[1] for line in starts] == ["none", "/usr/bin/nvidia-container-runtime"]
    assert host.service("k3s").is_running


def test_docker_host_has_the_nvidia_runtime(host):
    if k3s_node(host):
        pytest.skip("the k3s node")
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["runtimes"]["nvidia"]["path"] == "nvidia-container-runtime"
    assert config["log-driver"] == "json-file"  # the host's own settings are kept
