"""Verify the common role on a converged rover node (molecule scenario `common`)."""

import pytest


@pytest.mark.parametrize("package", ["ca-certificates", "curl", "gnupg", "iptables", "conntrack", "jq"])
def test_base_packages_installed(host, package):
    assert host.package(package).is_installed


def test_systemd_is_pid1_and_healthy(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state
    failed = host.run("systemctl --failed --no-legend --plain").stdout.strip()
    assert failed == "", failed


def test_timesyncd_enabled_with_lab_servers(host):
    assert host.package("systemd-timesyncd").is_installed
    assert host.service("systemd-timesyncd").is_enabled
    conf = host.file("/etc/systemd/timesyncd.conf.d/roverlab.conf")
    assert conf.mode == 0o644
    assert "NTP=ntp1.roverlab.test ntp2.roverlab.test" in conf.content_string
    # the effective configuration as timesyncd parses it
    merged = host.run("systemd-analyze cat-config systemd/timesyncd.conf").stdout
    assert "NTP=ntp1.roverlab.test ntp2.roverlab.test" in merged


def test_modules_load_at_boot(host):
    lines = host.file("/etc/modules-load.d/roverlab-k3s.conf").content_string.splitlines()
    assert [line for line in lines if line and not line.startswith("#")] == ["br_netfilter", "overlay"]


def test_kernel_features_available(host):
    assert host.file("/proc/sys/net/bridge/bridge-nf-call-iptables").exists
    assert "overlay" in host.file("/proc/filesystems").content_string


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("net.ipv4.ip_forward", 1),
        ("net.bridge.bridge-nf-call-iptables", 1),
        ("net.bridge.bridge-nf-call-ip6tables", 1),
    ],
)
def test_sysctl_live_and_persistent(host, key, value):
    assert host.sysctl(key) == value
    assert f"{key}={value}" in host.file("/etc/sysctl.d/90-roverlab-k3s.conf").content_string


def test_sysctl_file_survives_a_reload(host):
    # what a reboot does: re-apply /etc/sysctl.d and read the value back
    host.run_test("sysctl -w net.ipv4.ip_forward=0")
    host.run_test("sysctl -p /etc/sysctl.d/90-roverlab-k3s.conf")
    assert host.sysctl("net.ipv4.ip_forward") == 1
