"""The drift_check module: every kind of difference is found, and a host as expected is in sync.

Files are real files under tmp_path; dpkg-query and systemctl are small scripts put first on PATH that answer
like the real tools for the packages and units the tests name; kernel parameters are read from this machine's
/proc/sys.
"""

import grp
import hashlib
import os
import pwd
import stat
import textwrap
from pathlib import Path

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.modules import drift_check

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.fixture
def tools(tmp_path, monkeypatch):
    """dpkg-query knowing curl (installed) and jq (removed, config files left); systemctl knowing k3s."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dpkg-query").write_text(
        textwrap.dedent(
            """\
            #!/bin/sh
            shift 2
            rc=0
            for name in "$@"; do
              case "$name" in
                curl) printf 'curl\\tinstall ok installed\\n' ;;
                jq) printf 'jq\\tdeinstall ok config-files\\n' ;;
                *) echo "dpkg-query: no packages found matching $name" >&2; rc=1 ;;
              esac
            done
            exit $rc
            """
        )
    )
    (bin_dir / "systemctl").write_text(
        textwrap.dedent(
            """\
            #!/bin/sh
            case "$1 $2" in
              "is-enabled k3s"|"is-active k3s"|"is-enabled timesyncd") exit 0 ;;
              *) exit 1 ;;
            esac
            """
        )
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dir, os.environ["PATH"]))
    return bin_dir


def check(run_module, **args):
    return run_module(drift_check.main, args)


def write(path, text, mode=0o644):
    path.write_text(text)
    path.chmod(mode)
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_host_as_expected_is_in_sync(run_module, tmp_path, tools):
    digest = write(tmp_path / "config.yaml", "token: x\n", 0o600)
    (tmp_path / "conf.d").mkdir(mode=0o755)
    (tmp_path / "conf.d").chmod(0o755)
    result = check(
        run_module,
        files=[
            {"path": str(tmp_path / "config.yaml"), "sha256": digest, "mode": "0600", "owner": OWNER, "group": GROUP},
            {"path": str(tmp_path / "conf.d"), "state": "directory", "mode": "0755"},
            {"path": str(tmp_path / "stale.toml"), "state": "absent"},
            {"path": str(tmp_path / "conf.d"), "state": "exists"},
        ],
        packages=["curl"],
        services=[{"name": "k3s", "enabled": True, "active": True}, {"name": "timesyncd", "enabled": True}],
    )
    assert result == {"changed": False, "in_sync": True, "differences": []}


def test_every_file_difference_is_named(run_module, tmp_path, tools):
    write(tmp_path / "config.yaml", "token: old\n", 0o644)
    write(tmp_path / "stale.toml", "")
    (tmp_path / "dir-is-a-file").write_text("")
    result = check(
        run_module,
        files=[
            {
                "path": str(tmp_path / "config.yaml"),
                "sha256": hashlib.sha256(b"token: new\n").hexdigest(),
                "mode": "0600",
                "owner": "root" if OWNER != "root" else "nobody",
            },
            {"path": str(tmp_path / "missing"), "sha256": "0" * 64},
            {"path": str(tmp_path / "stale.toml"), "state": "absent"},
            {"path": str(tmp_path / "dir-is-a-file"), "state": "directory"},
            {"path": str(tmp_path), "state": "file"},
        ],
    )
    assert result["in_sync"] is False
    assert result["differences"] == [
        "%s: mode 0644, must be 0600" % (tmp_path / "config.yaml"),
        "%s: owner %s, must be %s" % (tmp_path / "config.yaml", OWNER, "root" if OWNER != "root" else "nobody"),
        "%s: content differs" % (tmp_path / "config.yaml"),
        "%s: missing" % (tmp_path / "missing"),
        "%s: present, must be absent" % (tmp_path / "stale.toml"),
        "%s: not a directory" % (tmp_path / "dir-is-a-file"),
        "%s: not a regular file" % tmp_path,
    ]


def test_a_link_is_not_the_file_it_points_to(run_module, tmp_path, tools):
    digest = write(tmp_path / "real", "x\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    result = check(run_module, files=[{"path": str(tmp_path / "link"), "sha256": digest}])
    assert result["differences"] == ["%s: not a regular file" % (tmp_path / "link")]


def test_packages_removed_unknown_or_pinned_are_differences(run_module, tools):
    result = check(run_module, packages=["curl", "jq", "no-such-package", "nvidia-driver=535.*"])
    assert result["in_sync"] is False
    assert result["differences"] == [
        "package nvidia-driver=535.*: has a version constraint",
        "package jq: not installed",
        "package no-such-package: not installed",
    ]


def test_services_not_enabled_or_not_running(run_module, tools):
    result = check(
        run_module,
        services=[
            {"name": "k3s-agent", "enabled": True, "active": True},
            {"name": "k3s", "active": False},
            {"name": "timesyncd", "enabled": True, "active": None},
        ],
    )
    assert result["differences"] == [
        "service k3s-agent: not enabled",
        "service k3s-agent: not active",
        "service k3s: active",
    ]


def test_kernel_parameters_are_read_now(run_module, tools):
    current = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    other = "0" if current == "1" else "1"
    assert check(run_module, sysctl={"net.ipv4.ip_forward": int(current)})["in_sync"] is True
    result = check(run_module, sysctl={"net.ipv4.ip_forward": other, "net.no.such.parameter": 1})
    assert result["differences"] == [
        "sysctl net.ipv4.ip_forward: %s, must be %s" % (current, other),
        "sysctl net.no.such.parameter: not available",
    ]


def test_check_mode_gives_the_same_answer(run_module, tmp_path, tools):
    args = {"files": [{"path": str(tmp_path / "missing")}], "packages": ["curl"]}
    assert check(run_module, **args) == check(run_module, _ansible_check_mode=True, **args)


def test_a_mode_that_is_not_octal_is_refused(run_module, tmp_path, tools):
    result = check(run_module, files=[{"path": str(tmp_path), "state": "directory", "mode": "rwx"}])
    assert result["failed"] is True
    assert "must be an octal string" in result["msg"]


def test_the_modes_compared_are_the_permission_bits(tmp_path):
    path = tmp_path / "sticky"
    path.mkdir()
    path.chmod(0o1777)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o1777
    assert drift_check.file_differences({"path": str(path), "state": "directory", "mode": "1777"}) == []
