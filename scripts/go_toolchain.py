"""The Go toolchain and caches for the project's own Go modules (the k3s stand-in, the lab's tailnet programs).

Go comes from ROVERLAB_GO, the toolchain scripts/setup.sh keeps in .cache/go/toolchain, /usr/local/go, or PATH, in
that order. Module and build caches are .cache/go/{mod,build}, so only a machine's first build is slow. Modules
are read-only (-mod=readonly: go.mod and go.sum decide every version) and the toolchain is never switched.
"""

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("ROVERLAB_CACHE", REPO / ".cache"))


def go_binary():
    """The path of the go command to build with."""
    candidates = [os.environ.get("ROVERLAB_GO"), str(CACHE / "go" / "toolchain" / "bin" / "go"), "/usr/local/go/bin/go"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("go")
    if not found:
        raise SystemExit("no Go toolchain: run scripts/setup.sh (or set ROVERLAB_GO to a Go new enough for go.mod)")
    return found


def go_env(**extra):
    """This process's environment with the project's Go caches and flags, and EXTRA (GOOS=..., ...) on top."""
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(CACHE / "go" / "mod"),
        GOCACHE=str(CACHE / "go" / "build"),
        GOTOOLCHAIN="local",
        GOFLAGS="-buildvcs=false -mod=readonly -modcacherw",
        CGO_ENABLED="0",
    )
    env.update(extra)
    return env


def pinned_version(module_dir, module):
    """The version MODULE_DIR/go.mod pins for MODULE."""
    for line in (Path(module_dir) / "go.mod").read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == module:
            return words[1]
        if len(words) >= 3 and words[0] == "require" and words[1] == module:
            return words[2]
    raise SystemExit("%s/go.mod does not pin %s" % (module_dir, module))
