"""The k3s roles stop before changing anything when the release cannot be had or is not what it claims.

Each case runs the real k3s_server role with ansible-playbook in check mode against localhost (as a
pretend server), so that nothing on this machine changes: the role must fail in its preflight/source checks
with a message that says what to do.
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VERSION = "v1.31.5+k3s1"
PLAYBOOK = """\
- hosts: k3s_servers
  gather_facts: true
  roles:
    - role: roverlab.clouddesktop.k3s_server
"""


def run_role(tmp_path, **variables):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "k3s_servers:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: %s\n" % sys.executable
    )
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    extra = tmp_path / "extra.yml"
    extra.write_text(json.dumps({"k3s_gpu_node": False, **variables}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(inventory),
            "--check",
            "-e",
            "@%s" % extra,
            str(playbook),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def release_dir(tmp_path):
    """An airgap directory laid out like a k3s release page (binary, images tarball, sha256sum-amd64.txt).

    The role's source checks run before the binary is ever executed, so the files hold placeholder bytes
    instead of the k3s stand-in (a unit test does not compile Kubernetes); only their checksums matter."""
    target = tmp_path / "airgap" / VERSION
    target.mkdir(parents=True)
    (target / "k3s").write_bytes(b"placeholder for the k3s binary\n")
    (target / "k3s-airgap-images-amd64.tar").write_bytes(b"placeholder for the images tarball\n")
    sums = "".join(
        "%s  %s\n" % (hashlib.sha256((target / name).read_bytes()).hexdigest(), name)
        for name in ("k3s", "k3s-airgap-images-amd64.tar")
    )
    (target / "sha256sum-amd64.txt").write_text(sums)
    return target


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on: a download host that cannot be reached."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_release_stops_with_the_offline_options(tmp_path, closed_port):
    rc, out = run_role(tmp_path, k3s_version=VERSION, k3s_release_url="http://127.0.0.1:%d/k3s" % closed_port)
    assert rc == 2, out
    assert "cannot download http://127.0.0.1:%d/k3s/sha256sum-amd64.txt" % closed_port in out
    assert "k3s_airgap_dir" in out and "k3s_mirror_url" in out
    assert "Traceback" not in out
    assert "changed=0" in out


def test_airgap_dir_missing_files_is_refused(tmp_path):
    airgap = tmp_path / "airgap"
    airgap.mkdir()
    rc, out = run_role(tmp_path, k3s_version=VERSION, k3s_airgap_dir=str(airgap))
    assert rc == 2, out
    assert "must hold the %s release files for amd64: k3s, sha256sum-amd64.txt" % VERSION in out
    assert "changed=0" in out


def test_airgap_binary_with_a_wrong_checksum_is_not_copied(tmp_path):
    target = release_dir(tmp_path)
    binary = target / "k3s"
    binary.write_bytes(binary.read_bytes() + b"# tampered\n")
    rc, out = run_role(tmp_path, k3s_version=VERSION, k3s_airgap_dir=str(target))
    assert rc == 2, out
    assert "%s/k3s has sha256 %s" % (target, hashlib.sha256(binary.read_bytes()).hexdigest()) in out
    assert "Nothing was copied" in out
    assert "changed=0" in out


def test_pinned_checksum_must_match_the_release(tmp_path):
    target = release_dir(tmp_path)
    rc, out = run_role(tmp_path, k3s_version=VERSION, k3s_airgap_dir=str(target), k3s_binary_sha256="0" * 64)
    assert rc == 2, out
    assert "differs from k3s_binary_sha256" in out


def test_template_mode_on_a_release_without_the_base_template_is_refused(tmp_path):
    rc, out = run_role(tmp_path, k3s_version="v1.27.4+k3s1", k3s_gpu_node=True, k3s_nvidia_runtime="template")
    assert rc == 2, out
    assert "v1.24.17, v1.25.13, v1.26.8, v1.27.5 and v1.28.1" in out


def test_reserved_node_labels_are_refused_before_anything_changes(tmp_path):
    rc, out = run_role(tmp_path, k3s_version=VERSION, k3s_node_labels=["node-role.kubernetes.io/worker=true"])
    assert rc == 2, out
    assert "node-role.kubernetes.io/worker" in out and "cannot set on itself" in out
