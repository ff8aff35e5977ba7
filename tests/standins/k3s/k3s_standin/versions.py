"""What a k3s release can do, by version. Written apart from the collection's filter plugin on purpose:
the stand-in models k3s, the roles model what to ask of it, and the tests check that the two agree."""

import re

_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:-rc\d+)?\+k3s\d+$")


def parse(version):
    match = _VERSION.match(version)
    if not match:
        raise ValueError("not a k3s version: %r" % version)
    return tuple(int(part) for part in match.groups())


def at_least(version, release):
    return parse(version) >= tuple(release)


def containerd_major(version):
    _major, minor, patch = parse(version)
    return 2 if (minor == 31 and patch >= 6) or (minor == 32 and patch >= 2) or minor >= 33 else 1


def supports_base_template(version):
    _major, minor, patch = parse(version)
    firsts = {24: 17, 25: 13, 26: 8, 27: 5, 28: 1}
    return patch >= firsts[minor] if minor in firsts else minor > 28


def kube_version(version):
    """The Kubernetes version a k3s release reports (v1.31.6+k3s1 -> 1.31.6)."""
    return "%d.%d.%d" % parse(version)
