"""Build the lab's tailnet programs from their Go modules into one directory.

    .venv/bin/python scripts/lab/tailnet/build.py [--out .cache/lab/tailnet/bin]

makes OUT/headscale     the coordination server, from github.com/juanfont/headscale at the version pinned in
                        scripts/lab/tailnet/headscale/go.mod
     OUT/tailscaled     the client, from tailscale.com at the version the desktop image pins
                        (roles/desktop_image/files/tailscale/go.mod: the same client the desktops run), built with
                        the CLI inside (ts_include_cli), as the image's is
     OUT/tailscale      a link to tailscaled: called by that name it is the CLI

Go and its caches: scripts/go_toolchain.py (module and build caches in .cache/go/{mod,build}, so only the first
build is slow). A program is rebuilt
only when its go.mod or go.sum changed (a stamp beside it), so a second `scripts/lab.sh up` builds nothing.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "scripts"))
from go_toolchain import CACHE, go_binary, go_env, pinned_version  # noqa: E402

CLIENT_MODULE = REPO / "roles" / "desktop_image" / "files" / "tailscale"
PROGRAMS = {
    # name: (module directory, package, build tags)
    "headscale": (HERE / "headscale", "github.com/juanfont/headscale/cmd/headscale", ""),
    "tailscaled": (CLIENT_MODULE, "tailscale.com/cmd/tailscaled", "ts_include_cli"),
}
PINNED = {"headscale": "github.com/juanfont/headscale", "tailscaled": "tailscale.com"}


def stamp(module_dir, go):
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        digest.update((module_dir / name).read_bytes())
    digest.update(subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.encode())
    return digest.hexdigest()[:16]


def build(name, out, go):
    module_dir, package, tags = PROGRAMS[name]
    version = pinned_version(module_dir, PINNED[name])
    target = out / name
    stamp_file = out / (name + ".stamp")
    want = stamp(module_dir, go)
    if target.exists() and stamp_file.exists() and stamp_file.read_text() == want:
        return False, version, 0.0
    ldflags = "-s -w"
    if name == "tailscaled":
        plain = version.lstrip("v")
        ldflags += " -X tailscale.com/version.longStamp=%s -X tailscale.com/version.shortStamp=%s" % (plain, plain)
    argv = [go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(target) + ".tmp"]
    if tags:
        argv += ["-tags", tags]
    began = time.monotonic()
    proc = subprocess.run([*argv, package], cwd=module_dir, env=go_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("building %s %s failed:\n%s" % (PINNED[name], version, proc.stderr[-4000:]))
    os.replace(str(target) + ".tmp", target)
    stamp_file.write_text(want)
    return True, version, time.monotonic() - began


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(CACHE / "lab" / "tailnet" / "bin"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    go = go_binary()
    for name in PROGRAMS:
        built, version, seconds = build(name, out, go)
        if built:
            print("built %s (%s %s) in %.0f s" % (out / name, PINNED[name], version, seconds))
    link = out / "tailscale"
    if not link.is_symlink():
        link.unlink(missing_ok=True)
        link.symlink_to("tailscaled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
