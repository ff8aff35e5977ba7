"""Build airgap directories holding the k3s STAND-IN, laid out like a k3s release page.

    .venv/bin/python tests/standins/k3s/build.py --out DIR v1.35.4+k3s1 [v1.31.5+k3s1 ...]

makes DIR/<version>/ with
    k3s                              the stand-in: this folder's Go module, one multi-call binary with the real
                                     Kubernetes components linked in and containerd + its runc shim inside
    k3s-airgap-images-amd64.tar      an OCI image archive with the pause image the nodes' pods need (a
                                     STAND-IN built here: the real one comes from a registry)
    sha256sum-amd64.txt              checksums of both, in sha256sum's format

so that the roles' airgap install path (checksum check included) runs for real. The real k3s release cannot
be downloaded on this machine. The Go module and build caches live in .cache/go/ (GOMODCACHE, GOCACHE), so
only the first build is slow; builds are reproducible (-trimpath, fixed build date), and files whose content
would not change are not rewritten, so a second `scripts/lab.sh up` changes nothing.

    build.py --binary-only DIR      only the binary, as DIR/k3s (for the API-tier test fixture)
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from go_toolchain import CACHE, go_binary, go_env, pinned_version  # noqa: E402

VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(-rc\d+)?\+k3s\d+$")
ARCH = "amd64"
PAUSE_IMAGE = "docker.io/rancher/mirrored-pause:3.6"
BUILD_DATE = "2026-01-01T00:00:00Z"
SHIMS = ("containerd", "containerd-shim-runc-v2")


def module_version(module):
    """The version go.mod pins for MODULE."""
    return pinned_version(HERE, module)


def _go(args, log):
    started = time.monotonic()
    done = subprocess.run(
        [go_binary(), *args],
        cwd=HERE,
        env=go_env(GOOS="linux", GOARCH=ARCH),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit("go %s failed:\n%s%s" % (" ".join(args), done.stdout, done.stderr))
    log("go %s: %.1f s" % (" ".join(a for a in args if not a.startswith("-X")), time.monotonic() - started))


def build_bundle(work, log):
    """containerd and its runc shim from the containerd module, gzipped into bundle/ for go:embed."""
    bundle = HERE / "bundle"
    bundle.mkdir(exist_ok=True)
    for name in SHIMS:
        binary = work / name
        _go(
            [
                "build",
                "-trimpath",
                "-ldflags=-s -w",
                "-o",
                str(binary),
                "github.com/containerd/containerd/v2/cmd/" + name,
            ],
            log,
        )
        data = gzip.compress(binary.read_bytes(), compresslevel=6, mtime=0)
        _write_if_changed(bundle / (name + ".gz"), data, 0o644)


def kubernetes_version():
    return module_version("k8s.io/kubernetes")


def ldflags(version):
    """Version strings. Like a k3s release, the components report the k3s version (v1.35.4+k3s1); where that
    release carries another Kubernetes than the one built here (go.mod), the stand-in still reports it, so
    that the roles' version checks (one node at a time on upgrades) can be tested; `k3s --version` names
    the Kubernetes actually linked in."""
    kube = kubernetes_version()
    major, minor = VERSION.match(version).groups()[:2]
    flags = ["-s", "-w", "-X", "main.k3sVersion=" + version, "-X", "main.k3sCommit=roverlab-standin"]
    flags += ["-X", "main.builtKubernetes=" + kube]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            "-X",
            "%s.gitVersion=%s" % (package, version),
            "-X",
            "%s.gitMajor=%s" % (package, major),
            "-X",
            "%s.gitMinor=%s" % (package, minor),
            "-X",
            "%s.gitCommit=%s" % (package, "0" * 40),
            "-X",
            "%s.gitTreeState=clean" % package,
            "-X",
            "%s.buildDate=%s" % (package, BUILD_DATE),
        ]
    return " ".join(flags)


def build_binary(version, target, work, log):
    build_bundle(work, log)
    binary = work / "k3s"
    _go(["build", "-trimpath", "-ldflags=" + ldflags(version), "-o", str(binary), "."], log)
    return _write_if_changed(target, binary.read_bytes(), 0o755)


# --- the pause image -----------------------------------------------------------------------------------


def _tar(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data, mode in files:
            member = tarfile.TarInfo(name)
            member.size = len(data)
            member.mode = mode
            member.mtime = 0
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build_pause(work, log):
    binary = work / "pause"
    _go(["build", "-trimpath", "-ldflags=-s -w", "-o", str(binary), "./cmd/pause"], log)
    return binary.read_bytes()


def build_images(pause):
    """An OCI image archive with the pause image (a STAND-IN: the project's own pause, cmd/pause)."""
    layer_tar = _tar([("pause", pause, 0o755)])
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps(
        {
            "architecture": ARCH,
            "os": "linux",
            "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
            "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]},
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _digest(layer),
                    "size": len(layer),
                }
            ],
        },
        sort_keys=True,
    ).encode()
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": _digest(manifest),
                    "size": len(manifest),
                    "platform": {"architecture": ARCH, "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": PAUSE_IMAGE,
                        "org.opencontainers.image.ref.name": PAUSE_IMAGE.rsplit(":", 1)[1],
                    },
                }
            ],
        },
        sort_keys=True,
    ).encode()
    files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}', 0o644), ("index.json", index, 0o644)]
    for digest, data in sorted({_digest(config): config, _digest(layer): layer, _digest(manifest): manifest}.items()):
        files.append(("blobs/sha256/" + digest.split(":")[1], data, 0o644))
    return _tar(files)


def _write_if_changed(path, data, mode):
    """Write DATA to PATH unless it holds it already; True when written."""
    changed = not path.exists() or path.read_bytes() != data
    if changed:
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    os.chmod(path, mode)
    return changed


def build(out, version, log):
    if not VERSION.match(version):
        raise SystemExit("not a k3s version: %r (want e.g. v1.35.4+k3s1)" % version)
    target = Path(out) / version
    target.mkdir(parents=True, exist_ok=True)
    work = CACHE / "go" / "out"
    work.mkdir(parents=True, exist_ok=True)
    written = [build_binary(version, target / "k3s", work, log)]
    images_name = "k3s-airgap-images-%s.tar" % ARCH
    written.append(_write_if_changed(target / images_name, build_images(build_pause(work, log)), 0o644))
    sums = "".join(
        "%s  %s\n" % (hashlib.sha256((target / name).read_bytes()).hexdigest(), name)
        for name in sorted(["k3s", images_name])
    )
    written.append(_write_if_changed(target / ("sha256sum-%s.txt" % ARCH), sums.encode(), 0o644))
    return target, any(written)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory to put <version>/ airgap directories in")
    parser.add_argument("--binary-only", metavar="DIR", help="only build DIR/k3s")
    parser.add_argument("--quiet", action="store_true", help="no timing lines")
    parser.add_argument("versions", nargs="*", metavar="VERSION")

    args = parser.parse_args(argv)

    def log(line):
        if not args.quiet:
            print("k3s stand-in build: %s" % line, file=sys.stderr, flush=True)

    if args.binary_only:
        directory = Path(args.binary_only)
        directory.mkdir(parents=True, exist_ok=True)
        version = args.versions[0] if args.versions else "%s+k3s1" % kubernetes_version()
        work = CACHE / "go" / "out"
        work.mkdir(parents=True, exist_ok=True)
        written = build_binary(version, directory / "k3s", work, log)
        print("k3s stand-in %s: %s (%s)" % (version, directory / "k3s", "written" if written else "unchanged"))
        return 0
    if not args.out or not args.versions:
        parser.error("--out and at least one VERSION are needed (or --binary-only DIR)")
    for version in args.versions:
        target, written = build(args.out, version, log)
        print("k3s stand-in %s: %s (%s)" % (version, target, "written" if written else "unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
