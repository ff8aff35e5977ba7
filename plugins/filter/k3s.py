# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that know k3s versions: comparison, and which containerd/NVIDIA wiring a release needs.

Every version boundary the collection relies on lives in this file, so that one place decides how a GPU
node gets the NVIDIA runtime (``k3s_containerd_plan``). The boundaries come from the k3s release notes
and docs (see docs/cluster-admin.md).
"""

import operator
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

# v1.31.6+k3s1, v1.31.6-rc1+k3s1, v1.31.6 (a boundary without the k3s build suffix), 1.31.6
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:-rc(\d+))?(?:\+k3s(\d+))?")

_OPERATORS = {
    "<": operator.lt,
    "lt": operator.lt,
    "<=": operator.le,
    "le": operator.le,
    "==": operator.eq,
    "eq": operator.eq,
    "!=": operator.ne,
    "ne": operator.ne,
    ">=": operator.ge,
    "ge": operator.ge,
    ">": operator.gt,
    "gt": operator.gt,
}

# First release of each minor line whose containerd template may use {{ template "base" . }}
# (the September 2023 releases); every minor after 1.28 has it from .0.
_BASE_TEMPLATE_SINCE = {(1, 24): 17, (1, 25): 13, (1, 26): 8, (1, 27): 5, (1, 28): 1}
_BASE_TEMPLATE_ALL_FROM_MINOR = 29
# --default-runtime (and k3s's own RuntimeClasses) arrived in v1.28.5+k3s1.
_DEFAULT_RUNTIME_SINCE = (1, 28, 5)
# containerd 2.0 (config version 3, config-v3.toml.tmpl) ships from these releases of each line.
_CONTAINERD2_SINCE = {(1, 31): 6, (1, 32): 2}
_CONTAINERD2_ALL_FROM_MINOR = 33

TEMPLATE_V2 = "config.toml.tmpl"
TEMPLATE_V3 = "config-v3.toml.tmpl"
NVIDIA_MODES = ("auto", "template", "none")


def _parse(version):
    if not isinstance(version, string_types):
        raise AnsibleFilterError("a k3s version must be a string such as v1.31.6+k3s1, got %r" % (version,))
    match = _VERSION_RE.fullmatch(version.strip())
    if not match:
        raise AnsibleFilterError("%r is not a k3s version (expected the form v1.31.6+k3s1)" % (version,))
    major, minor, patch, rc, build = match.groups()
    # a release candidate sorts before the release it leads up to
    prerelease = (0, int(rc)) if rc is not None else (1, 0)
    return (int(major), int(minor), int(patch), *prerelease, int(build or 0))


def _at_least(version_key, minor_since, all_from_minor):
    """True when a release is at or after the boundary of its minor line (see the tables above)."""
    major, minor, patch = version_key[:3]
    if (major, minor) in minor_since:
        return patch >= minor_since[(major, minor)]
    return (major, minor) >= (1, all_from_minor)


def k3s_version_compare(version, other, op=">="):
    """Compare two k3s versions: ``'v1.31.6+k3s1' | k3s_version_compare('v1.31.6', '>=')``."""
    if op not in _OPERATORS:
        raise AnsibleFilterError("unknown comparison %r (use one of %s)" % (op, ", ".join(sorted(_OPERATORS))))
    return _OPERATORS[op](_parse(version), _parse(other))


def k3s_containerd_plan(version, nvidia_runtime="auto", gpu_node=False):
    """Decide how a node running k3s VERSION gets the NVIDIA runtime, and which template name k3s reads.

    Returns a dict:
      containerd      major version of the containerd embedded in that release (1 or 2)
      template_name   the template file k3s reads for it (config.toml.tmpl or config-v3.toml.tmpl)
      stale_template_names  the other name: a leftover there breaks upgrades across containerd 2
      base_template   whether the release supports {{ template "base" . }}
      nvidia          how the runtime is wired: default-runtime (config.yaml), template, or none
      default_runtime the value for config.yaml's default-runtime, or None
    """
    if nvidia_runtime not in NVIDIA_MODES:
        raise AnsibleFilterError(
            "k3s_nvidia_runtime must be one of %s, got %r" % (", ".join(NVIDIA_MODES), nvidia_runtime)
        )
    key = _parse(version)
    containerd = 2 if _at_least(key, _CONTAINERD2_SINCE, _CONTAINERD2_ALL_FROM_MINOR) else 1
    base_template = _at_least(key, _BASE_TEMPLATE_SINCE, _BASE_TEMPLATE_ALL_FROM_MINOR)
    default_runtime_ok = key[:3] >= _DEFAULT_RUNTIME_SINCE

    if not gpu_node or nvidia_runtime == "none":
        nvidia = "none"
    elif nvidia_runtime == "auto" and default_runtime_ok:
        nvidia = "default-runtime"
    else:
        nvidia = "template"

    if nvidia == "template" and not base_template:
        raise AnsibleFilterError(
            'k3s %s cannot take a containerd template built on {{ template "base" . }}: that arrived in '
            "v1.24.17, v1.25.13, v1.26.8, v1.27.5 and v1.28.1 (and every later release). Pin a newer "
            "k3s_version (v1.28.5 or later needs no template at all), or set k3s_nvidia_runtime=none "
            "on this node." % version
        )

    template_name = TEMPLATE_V3 if containerd == 2 else TEMPLATE_V2
    return {
        "version": version,
        "containerd": containerd,
        "template_name": template_name,
        "stale_template_names": [TEMPLATE_V2 if containerd == 2 else TEMPLATE_V3],
        "base_template": base_template,
        "nvidia": nvidia,
        "default_runtime": "nvidia" if nvidia == "default-runtime" else None,
    }


def k3s_sha256sums(text):
    """Parse a release's sha256sum-<arch>.txt (``<hash>  <file>`` lines) into {file: hash}."""
    if not isinstance(text, string_types):
        raise AnsibleFilterError("k3s_sha256sums expects the text of a checksum file")
    sums = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            raise AnsibleFilterError("line %d of the checksum file is not '<sha256>  <file>': %r" % (number, line))
        # sha256sum marks binary mode with a leading '*'
        sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


class FilterModule:
    def filters(self):
        return {
            "k3s_version_compare": k3s_version_compare,
            "k3s_containerd_plan": k3s_containerd_plan,
            "k3s_sha256sums": k3s_sha256sums,
        }
