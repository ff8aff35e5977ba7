# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GPU architecture from the PCI device ID, and which kernel module flavour suits it.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

NVIDIA allocates PCI device IDs in blocks per chip family. The ranges below group the chips that the PCI ID
Repository (pci-ids.ucw.cz, vendor 10de) lists in each block, e.g. 0x1f06 "TU106 [GeForce RTX 2060 SUPER]",
0x1b80 "GP104 [GeForce GTX 1080]", 0x2204 "GA102 [GeForce RTX 3090]", 0x2330 "GH100 [H100 SXM5 80GB]"
(confirmed by the real H100 host in tests/unit/fixtures/gpu-host/h100). An ID outside every range gives no
architecture (None); callers must then ask the admin instead of guessing. docs/gpu.md carries the same table.
"""

# (first ID, last ID, architecture): inclusive, sorted, non-overlapping. Hopper (GH100, 0x23xx) sits inside
# the span of Ampere's GA10x blocks, which is why Ampere appears twice.
DEVICE_ID_RANGES = (
    (0x0FC0, 0x0FFF, "kepler"),  # GK107
    (0x1000, 0x103F, "kepler"),  # GK110/GK110B (Tesla K20/K40)
    (0x1180, 0x11FF, "kepler"),  # GK104/GK106
    (0x1280, 0x12FF, "kepler"),  # GK208
    (0x1340, 0x13FF, "maxwell"),  # GM107/GM108/GM204
    (0x1400, 0x143F, "maxwell"),  # GM206
    (0x15F0, 0x15FF, "pascal"),  # GP100 (Tesla P100)
    (0x1610, 0x167F, "maxwell"),  # GM20x mobile
    (0x1700, 0x17FF, "maxwell"),  # GM200 (GTX 980 Ti, Tesla M40)
    (0x1B00, 0x1BFF, "pascal"),  # GP102/GP104 (GTX 1080, Tesla P4/P40)
    (0x1C00, 0x1CFF, "pascal"),  # GP106/GP107 (GTX 1060, GTX 1050)
    (0x1D00, 0x1D7F, "pascal"),  # GP108 (GT 1030)
    (0x1D80, 0x1DFF, "volta"),  # GV100 (Titan V, Tesla V100)
    (0x1E00, 0x1FFF, "turing"),  # TU102/TU104/TU106/TU117 (RTX 20xx, T4, Quadro RTX)
    (0x2080, 0x20FF, "ampere"),  # GA100 (A100, A30)
    (0x2100, 0x21FF, "turing"),  # TU116 (GTX 16xx)
    (0x2200, 0x22FF, "ampere"),  # GA102 (RTX 3080/3090, RTX A6000, A40, A10)
    (0x2300, 0x23FF, "hopper"),  # GH100 (H100, H200, GH200)
    (0x2400, 0x25FF, "ampere"),  # GA103/GA104/GA106/GA107 (RTX 3060-3070, A2, A16)
    (0x2680, 0x28FF, "ada"),  # AD102-AD107 (RTX 40xx, RTX 6000 Ada, L4, L40)
    (0x2900, 0x29FF, "blackwell"),  # GB100/GB102 (B200, GB200)
    (0x2B00, 0x2FFF, "blackwell"),  # GB202-GB207 (RTX 50xx, RTX PRO Blackwell)
)

ARCHITECTURES = ("kepler", "maxwell", "pascal", "volta", "turing", "ampere", "ada", "hopper", "blackwell")

# NVIDIA's open GPU kernel modules run on Turing and newer only. Grace Hopper and Blackwell need them (the
# proprietary flavour does not drive those). For Turing to Hopper NVIDIA made the open flavour its default
# and recommendation from driver branch 560; before that it was production quality on data-centre GPUs only,
# and GeForce/workstation boards needed NVreg_OpenRmEnableUnsupportedGpus=1. The first branch with open
# modules at all is 515.
OPEN_CAPABLE = ("turing", "ampere", "ada", "hopper", "blackwell")
OPEN_REQUIRED = ("blackwell",)
OPEN_RECOMMENDED_FROM_BRANCH = 560
OPEN_FIRST_BRANCH = 515

# Driver branches per architecture: the first branch that drives it, and the last one for architectures
# NVIDIA has moved to legacy support (Kepler ended with 470; Maxwell, Pascal and Volta end with 580).
BRANCH_SUPPORT = {
    "kepler": (None, 470),
    "maxwell": (None, 580),
    "pascal": (None, 580),
    "volta": (None, 580),
    "turing": (410, None),
    "ampere": (450, None),
    "ada": (520, None),
    "hopper": (525, None),
    "blackwell": (570, None),
}


def architecture_of(device_id):
    """The architecture name for a PCI device ID (int), or None when the ID is in no known block."""
    if device_id is None:
        return None
    for first, last, architecture in DEVICE_ID_RANGES:
        if first <= device_id <= last:
            return architecture
    return None


def kernel_module_support(architecture):
    """What the open kernel module means for ARCHITECTURE: {'supported', 'required'}."""
    return {
        "supported": architecture in OPEN_CAPABLE,
        "required": architecture in OPEN_REQUIRED,
    }


def branch_problem(architecture, branch):
    """A sentence saying why BRANCH cannot drive ARCHITECTURE, or None when it can (or either is unknown)."""
    if architecture is None or branch is None:
        return None
    first, last = BRANCH_SUPPORT[architecture]
    if first is not None and branch < first:
        return "%s GPUs need driver branch %d or newer; %d is too old" % (architecture.capitalize(), first, branch)
    if last is not None and branch > last:
        return "%s GPUs are supported up to driver branch %d only; %d has dropped them" % (
            architecture.capitalize(),
            last,
            branch,
        )
    return None


def recommended_flavour(architectures, branch=None):
    """'open' or 'proprietary' for a node with GPUs of ARCHITECTURES under driver BRANCH (None: current).

    Returns (flavour, reason). The flavour is None when no single module can drive every GPU, or when an
    architecture is unknown: one kernel module serves the whole node, so the admin has to decide.
    """
    if not architectures:
        return None, "no NVIDIA GPU"
    if None in architectures:
        return None, "a GPU's device ID is not in the architecture table; set the flavour explicitly"
    needs_open = sorted({a for a in architectures if a in OPEN_REQUIRED})
    cannot_open = sorted({a for a in architectures if a not in OPEN_CAPABLE})
    if needs_open and cannot_open:
        return None, "%s needs the open kernel module, which %s cannot use" % (
            "/".join(needs_open),
            "/".join(cannot_open),
        )
    if needs_open:
        return "open", "%s is driven by the open kernel module only" % "/".join(needs_open)
    if cannot_open:
        return "proprietary", "%s predates Turing: the open kernel module does not support it" % "/".join(cannot_open)
    if branch is not None and branch < OPEN_RECOMMENDED_FROM_BRANCH:
        return "proprietary", "branch %d predates %d, from which NVIDIA recommends the open module" % (
            branch,
            OPEN_RECOMMENDED_FROM_BRANCH,
        )
    return "open", "Turing and newer: NVIDIA recommends the open kernel module from branch %d" % (
        OPEN_RECOMMENDED_FROM_BRANCH
    )
