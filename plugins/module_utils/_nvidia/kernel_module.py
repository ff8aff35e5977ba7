# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The NVIDIA kernel module that is loaded right now: its version and flavour.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.
"""

import os
import re

PROC_VERSION = os.path.join("proc", "driver", "nvidia", "version")
SYS_MODULE_VERSION = os.path.join("sys", "module", "nvidia", "version")

# "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ..." (open flavour)
# "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC 2024" (proprietary)
_NVRM = re.compile(r"^NVRM version:.*?(Open )?Kernel Module\b.*?\s(\d+\.\d+(?:\.\d+)?)\s", re.MULTILINE)


def parse_proc_version(text):
    """(version, flavour) from /proc/driver/nvidia/version; (None, None) when it does not parse."""
    match = _NVRM.search(text + " ")
    if not match:
        return None, None
    return match.group(2), "open" if match.group(1) else "proprietary"


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def loaded_module(root="/"):
    """{'loaded', 'version', 'flavour'} of the running nvidia module under ROOT."""
    proc = _read(os.path.join(root, PROC_VERSION))
    if proc is not None:
        version, flavour = parse_proc_version(proc)
        if version:
            return {"loaded": True, "version": version, "flavour": flavour}
    # /sys/module/nvidia exists while the module is loaded; its version file has the bare version
    sys_version = _read(os.path.join(root, SYS_MODULE_VERSION))
    if sys_version is not None or os.path.isdir(os.path.join(root, "sys", "module", "nvidia")):
        return {"loaded": True, "version": (sys_version or "").strip() or None, "flavour": None}
    return {"loaded": False, "version": None, "flavour": None}
