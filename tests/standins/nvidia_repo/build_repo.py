"""Build a STAND-IN for NVIDIA's container toolkit apt repository, signed with a throwaway key.

NVIDIA's repository cannot be reached from the test machines and Debian does not package the toolkit, so the
nvidia_container_toolkit role is tested against this: a flat apt repository (the layout NVIDIA publishes)
with the four packages under their real names and version scheme (nvidia-container-toolkit,
nvidia-container-toolkit-base, libnvidia-container-tools, libnvidia-container1, each <version>-1) and
NVIDIA's dependency structure between them. Their programs are shell scripts that SAY they are stand-ins:
`nvidia-ctk runtime configure` writes what the real one writes (/etc/containerd/conf.d/99-nvidia.toml for
containerd, the nvidia runtime in /etc/docker/daemon.json for docker), so a test can see whether the role ran
it. Release is signed (InRelease, Release.gpg) with an ed25519 key generated here in a temporary GNUPGHOME,
so apt's Signed-By check runs for real. Needs dpkg-deb and gpg.

    python3 tests/standins/nvidia_repo/build_repo.py OUT_DIR [--version 1.20.0 ...]

Writes OUT_DIR/{pool/*.deb,Packages,Packages.gz,Release,InRelease,Release.gpg,standin-key.asc}.
"""

import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile
from email.utils import formatdate
from pathlib import Path

MAINTAINER = "Rover Lab tests <standin@roverlab.test>"
KEY_UID = "roverlab STAND-IN NVIDIA container toolkit repository <standin@roverlab.test>"

NVIDIA_CTK = r"""#!/bin/sh
# STAND-IN for NVIDIA's nvidia-ctk @VERSION@, built by tests/standins/nvidia_repo (roverlab.clouddesktop tests).
# It is not NVIDIA's program: it only writes the files the real `runtime configure` writes.
set -eu
case "${1:-}" in
  --version|-v)
    echo "NVIDIA Container Toolkit CLI version @VERSION@ (roverlab STAND-IN, not NVIDIA's binary)"
    exit 0 ;;
  runtime) ;;
  *) echo "nvidia-ctk stand-in: unsupported command: $*" >&2; exit 2 ;;
esac
[ "${2:-}" = configure ] || { echo "nvidia-ctk stand-in: only 'runtime configure' is emulated" >&2; exit 2; }
runtime=""
for arg in "$@"; do case "$arg" in --runtime=*) runtime=${arg#--runtime=} ;; esac; done
case "$runtime" in
  containerd)
    mkdir -p /etc/containerd/conf.d
    printf '%s\n' '# written by the nvidia-ctk STAND-IN' \
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]' \
      '  runtime_type = "io.containerd.runc.v2"' \
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]' \
      '  BinaryName = "/usr/bin/nvidia-container-runtime"' > /etc/containerd/conf.d/99-nvidia.toml
    echo "INFO Wrote updated config to /etc/containerd/conf.d/99-nvidia.toml (stand-in)" ;;
  docker)
    python3 - <<'PY'
import json, os
path = "/etc/docker/daemon.json"
config = json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) else {}
config.setdefault("runtimes", {})["nvidia"] = {"args": [], "path": "nvidia-container-runtime"}
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as f:
    json.dump(config, f, indent=4)
PY
    echo "INFO Wrote updated config to /etc/docker/daemon.json (stand-in)" ;;
  *) echo "nvidia-ctk stand-in: unsupported runtime '$runtime'" >&2; exit 2 ;;
esac
"""

STAND_IN_PROGRAM = """#!/bin/sh
# STAND-IN for NVIDIA's @NAME@ @VERSION@, built by tests/standins/nvidia_repo (roverlab.clouddesktop tests).
echo "@NAME@ version @VERSION@ (roverlab STAND-IN, not NVIDIA's binary)"
[ "${1:-}" = --version ] || [ "${1:-}" = -v ] || { echo "@NAME@ stand-in: does nothing" >&2; exit 1; }
"""


def packages(version):
    """(name, depends, {path: (text, mode)}) of the four packages for VERSION, as NVIDIA splits them."""
    full = "%s-1" % version

    def program(name):
        return (STAND_IN_PROGRAM.replace("@NAME@", name).replace("@VERSION@", version), 0o755)

    return [
        ("libnvidia-container1", "", {"usr/share/doc/libnvidia-container1/STAND-IN": ("roverlab stand-in\n", 0o644)}),
        (
            "libnvidia-container-tools",
            "libnvidia-container1 (>= %s)" % full,
            {"usr/bin/nvidia-container-cli": program("nvidia-container-cli")},
        ),
        (
            "nvidia-container-toolkit-base",
            "",
            {
                "usr/bin/nvidia-ctk": (NVIDIA_CTK.replace("@VERSION@", version), 0o755),
                "etc/nvidia-container-runtime/config.toml": ("# roverlab stand-in\n", 0o644),
            },
        ),
        (
            "nvidia-container-toolkit",
            "nvidia-container-toolkit-base (= %s), libnvidia-container-tools (>= %s), "
            "libnvidia-container-tools (<< 2.0.0)" % (full, full),
            {
                "usr/bin/nvidia-container-runtime": program("nvidia-container-runtime"),
                "usr/bin/nvidia-container-runtime-hook": program("nvidia-container-runtime-hook"),
            },
        ),
    ]


def build_deb(name, version, depends, files, pool, work):
    root = work / ("%s_%s" % (name, version))
    for path, (text, mode) in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)
    (root / "DEBIAN").mkdir(parents=True)
    control = [
        "Package: %s" % name,
        "Version: %s-1" % version,
        "Architecture: amd64",
        "Maintainer: %s" % MAINTAINER,
        "Section: utils",
        "Priority: optional",
    ]
    if depends:
        control.append("Depends: %s" % depends)
    control.append("Description: STAND-IN for NVIDIA's %s (roverlab.clouddesktop tests)" % name)
    control.append(" Built by tests/standins/nvidia_repo/build_repo.py; not NVIDIA software.")
    (root / "DEBIAN" / "control").write_text("\n".join(control) + "\n")
    if any(path.startswith("etc/") for path in files):
        (root / "DEBIAN" / "conffiles").write_text("".join("/%s\n" % p for p in files if p.startswith("etc/")))
    deb = pool / ("%s_%s-1_amd64.deb" % (name, version))
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb


def package_stanza(deb, out):
    control = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True, capture_output=True, text=True).stdout
    data = deb.read_bytes()
    return control.rstrip("\n") + "\nFilename: ./%s\nSize: %d\nMD5sum: %s\nSHA256: %s\n" % (
        deb.relative_to(out).as_posix(),
        len(data),
        hashlib.md5(data).hexdigest(),  # noqa: S324  (apt index format, not a security use)
        hashlib.sha256(data).hexdigest(),
    )


def release(out, names):
    lines = [
        "Origin: roverlab stand-in",
        "Label: STAND-IN for NVIDIA's libnvidia-container repository",
        "Date: %s" % formatdate(usegmt=True),
        "Architectures: amd64",
    ]
    for algorithm, field in (("md5", "MD5Sum"), ("sha256", "SHA256")):
        lines.append("%s:" % field)
        for name in names:
            data = (out / name).read_bytes()
            lines.append(" %s %d %s" % (hashlib.new(algorithm, data).hexdigest(), len(data), name))
    (out / "Release").write_text("\n".join(lines) + "\n")


def sign(out):
    home = Path(tempfile.mkdtemp(prefix="roverlab-standin-gpg-"))
    env = dict(os.environ, GNUPGHOME=str(home))
    gpg = ["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""]
    try:
        home.chmod(0o700)
        subprocess.run([*gpg, "--quick-gen-key", KEY_UID, "ed25519", "sign", "1d"], env=env, check=True)
        with open(out / "standin-key.asc", "wb") as f:
            subprocess.run([*gpg, "--armor", "--export", KEY_UID], env=env, check=True, stdout=f)
        release_file = str(out / "Release")
        subprocess.run([*gpg, "--clearsign", "-o", str(out / "InRelease"), release_file], env=env, check=True)
        subprocess.run(
            [*gpg, "--detach-sign", "--armor", "-o", str(out / "Release.gpg"), release_file], env=env, check=True
        )
    finally:
        # the agent gpg started for this home must not outlive it
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)
        shutil.rmtree(home, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--version", action="append", dest="versions", help="toolkit version (repeatable)")
    args = parser.parse_args()
    versions = args.versions or ["1.20.0"]
    out = args.out.resolve()
    for stale in ("pool", "Packages", "Packages.gz", "Release", "InRelease", "Release.gpg", "standin-key.asc"):
        path = out / stale
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    pool = out / "pool"
    pool.mkdir(parents=True)
    stanzas = []
    with tempfile.TemporaryDirectory(prefix="roverlab-standin-debs-") as work:
        for version in versions:
            for name, depends, files in packages(version):
                deb = build_deb(name, version, depends, files, pool, Path(work))
                stanzas.append(package_stanza(deb, out))
    index = "\n".join(stanzas)
    (out / "Packages").write_text(index)
    with gzip.open(out / "Packages.gz", "wt") as f:
        f.write(index)
    release(out, ["Packages", "Packages.gz"])
    sign(out)
    print("stand-in repository with %s in %s" % (", ".join(versions), out))


if __name__ == "__main__":
    main()
