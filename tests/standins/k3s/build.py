"""Build airgap directories holding the k3s STAND-IN, laid out like a k3s release page.

    .venv/bin/python tests/standins/k3s/build.py --out DIR v1.31.5+k3s1 [v1.31.6+k3s1 ...]

makes DIR/<version>/ with
    k3s                              the stand-in (a Python zipapp: k3s_standin + tests/fakekube + PyYAML)
    k3s-airgap-images-amd64.tar      a small OCI image archive that the stand-in imports into containerd
    sha256sum-amd64.txt              checksums of both, in sha256sum's format

so that the roles' airgap install path (checksum check included) runs for real. The real k3s binary cannot
be downloaded on this machine. Builds are reproducible: the same sources give byte-identical files, and
files whose content would not change are not rewritten (a second `scripts/lab.sh up` changes nothing).
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent.parent
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
VERSION = re.compile(r"^v\d+\.\d+\.\d+(-rc\d+)?\+k3s\d+$")
ARCH = "amd64"


def _python_files(root, package):
    base = root / package
    return sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)


def _yaml_package():
    import yaml  # PyYAML of the project's venv; its pure-Python part runs on the nodes' bare python3

    return Path(yaml.__file__).parent


def build_zipapp(version):
    """The stand-in as a zipapp with a python3 shebang; deterministic for the same sources."""
    entries = {}
    for path in _python_files(HERE, "k3s_standin"):
        entries["k3s_standin/" + path.relative_to(HERE / "k3s_standin").as_posix()] = path.read_bytes()
    for path in _python_files(TESTS, "fakekube"):
        entries["fakekube/" + path.relative_to(TESTS / "fakekube").as_posix()] = path.read_bytes()
    yaml_dir = _yaml_package()
    for path in sorted(yaml_dir.glob("*.py")):
        entries["yaml/" + path.name] = path.read_bytes()
    # the commit is left out on purpose: rebuilding from the same files must give the same bytes
    info = {"version": version, "commit": "roverlab-standin", "standin": True}
    entries["k3s_standin/build.json"] = json.dumps(info, sort_keys=True).encode()
    entries["__main__.py"] = b"import sys\n\nfrom k3s_standin.cli import main\n\nsys.exit(main())\n"
    buffer = io.BytesIO()
    buffer.write(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            member = zipfile.ZipInfo(name, FIXED_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            archive.writestr(member, entries[name])
    return buffer.getvalue()


def _tar(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in files:
            member = tarfile.TarInfo(name)
            member.size = len(data)
            member.mode = 0o644
            member.mtime = 0
            archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def build_images(version):
    """An OCI image archive with one tiny image, named like an airgap image of this release."""
    tag = version.replace("+", "-")
    layer_tar = _tar(
        [("standin/README", ("k3s stand-in airgap image for %s (not a real k3s image)\n" % version).encode())]
    )
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps(
        {
            "architecture": ARCH,
            "os": "linux",
            "config": {"Cmd": ["/standin/README"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
        },
        sort_keys=True,
    ).encode()
    config_digest = _digest(config)
    layer_digest = _digest(layer)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": len(layer)}
            ],
        },
        sort_keys=True,
    ).encode()
    manifest_digest = _digest(manifest)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": manifest_digest,
                    "size": len(manifest),
                    "platform": {"architecture": ARCH, "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": "docker.io/roverlab/k3s-standin-airgap:%s" % tag,
                        "org.opencontainers.image.ref.name": tag,
                    },
                }
            ],
        },
        sort_keys=True,
    ).encode()
    files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
    for digest, data in sorted({config_digest: config, layer_digest: layer, manifest_digest: manifest}.items()):
        files.append(("blobs/sha256/" + digest.split(":")[1], data))
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


def build(out, version):
    if not VERSION.match(version):
        raise SystemExit("not a k3s version: %r (want e.g. v1.31.5+k3s1)" % version)
    target = Path(out) / version
    target.mkdir(parents=True, exist_ok=True)
    artifacts = {
        "k3s": (build_zipapp(version), 0o755),
        "k3s-airgap-images-%s.tar" % ARCH: (build_images(version), 0o644),
    }
    sums = "".join(
        "%s  %s\n" % (hashlib.sha256(data).hexdigest(), name) for name, (data, _mode) in sorted(artifacts.items())
    )
    written = [_write_if_changed(target / name, data, mode) for name, (data, mode) in sorted(artifacts.items())]
    written.append(_write_if_changed(target / ("sha256sum-%s.txt" % ARCH), sums.encode(), 0o644))
    return target, any(written)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory to put <version>/ airgap directories in")
    parser.add_argument("versions", nargs="+", metavar="VERSION")
    args = parser.parse_args(argv)
    for version in args.versions:
        target, written = build(args.out, version)
        print("k3s stand-in %s: %s (%s)" % (version, target, "written" if written else "unchanged"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
