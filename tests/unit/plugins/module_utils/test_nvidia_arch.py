"""Architecture table and kernel module flavour guidance (plugins/module_utils/_nvidia/arch.py)."""

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._nvidia import arch


@pytest.mark.parametrize(
    ("device_id", "architecture"),
    [
        (0x1024, "kepler"),  # Tesla K40c
        (0x13C2, "maxwell"),  # GTX 970
        (0x17C8, "maxwell"),  # GTX 980 Ti
        (0x15F8, "pascal"),  # Tesla P100 PCIe 16GB
        (0x1B80, "pascal"),  # GTX 1080
        (0x1C03, "pascal"),  # GTX 1060 6GB
        (0x1DB4, "volta"),  # Tesla V100 PCIe 16GB
        (0x1F06, "turing"),  # RTX 2060 SUPER (the lab's rover nodes)
        (0x1EB8, "turing"),  # Tesla T4
        (0x2182, "turing"),  # GTX 1660 Ti (TU116)
        (0x20B5, "ampere"),  # A100 80GB PCIe
        (0x2204, "ampere"),  # RTX 3090
        (0x2503, "ampere"),  # RTX 3060
        (0x2330, "hopper"),  # H100 SXM5 80GB (the real host in fixtures/gpu-host/h100)
        (0x2342, "hopper"),  # GH200
        (0x2684, "ada"),  # RTX 4090
        (0x27B8, "ada"),  # L4
        (0x2901, "blackwell"),  # B200
        (0x2B85, "blackwell"),  # RTX 5090
        (0x10F9, None),  # an HD audio function's ID is in no GPU block
        (0x3F00, None),
        (None, None),
    ],
)
def test_architecture_of(device_id, architecture):
    assert arch.architecture_of(device_id) == architecture


def test_ranges_are_sorted_and_disjoint():
    ranges = arch.DEVICE_ID_RANGES
    assert all(first <= last for first, last, _name in ranges)
    assert all(prev[1] < cur[0] for prev, cur in zip(ranges, ranges[1:]))
    assert {entry[2] for entry in ranges} == set(arch.ARCHITECTURES)
    assert set(arch.BRANCH_SUPPORT) == set(arch.ARCHITECTURES)


@pytest.mark.parametrize(
    ("architectures", "branch", "flavour"),
    [
        (["turing"], 535, "proprietary"),  # Debian 12's branch predates NVIDIA's open-by-default
        (["turing"], 570, "open"),
        (["turing"], None, "open"),
        (["pascal"], 580, "proprietary"),
        (["hopper"], 580, "open"),
        (["blackwell"], 535, "open"),  # required whatever the branch (branch_problem reports 535)
        (["ampere", "turing"], 570, "open"),
        (["ampere", "pascal"], 570, "proprietary"),
        (["blackwell", "pascal"], 570, None),
        (["turing", None], 570, None),
        ([], 570, None),
    ],
)
def test_recommended_flavour(architectures, branch, flavour):
    chosen, reason = arch.recommended_flavour(architectures, branch)
    assert chosen == flavour
    assert reason


@pytest.mark.parametrize(
    ("architecture", "branch", "problem"),
    [
        ("turing", 535, None),
        ("blackwell", 535, "Blackwell GPUs need driver branch 570 or newer; 535 is too old"),
        ("pascal", 590, "Pascal GPUs are supported up to driver branch 580 only; 590 has dropped them"),
        ("kepler", 535, "Kepler GPUs are supported up to driver branch 470 only; 535 has dropped them"),
        (None, 535, None),
        ("ampere", None, None),
    ],
)
def test_branch_problem(architecture, branch, problem):
    assert arch.branch_problem(architecture, branch) == problem


def test_kernel_module_support():
    assert arch.kernel_module_support("volta") == {"supported": False, "required": False}
    assert arch.kernel_module_support("turing") == {"supported": True, "required": False}
    assert arch.kernel_module_support("blackwell") == {"supported": True, "required": True}
    assert arch.kernel_module_support(None) == {"supported": False, "required": False}
