"""PCI scan, loaded kernel module and Secure Boot state, read from fake host trees (fixtures/gpu-host)."""

import importlib.util
from pathlib import Path

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._nvidia import kernel_module as kmod
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._nvidia import pci, secure_boot

_spec = importlib.util.spec_from_file_location(
    "fakehost", Path(__file__).resolve().parents[2] / "fixtures" / "gpu-host" / "fakehost.py"
)
fakehost = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakehost)


def test_h100_real_host(tmp_path):
    root = fakehost.build_host("h100", tmp_path)[0]
    gpus, others = pci.split_nvidia_functions(pci.read_pci_functions(str(root)))
    assert [g["pci_address"] for g in gpus] == ["0000:00:06.0"]
    assert gpus[0]["device_id"] == 0x2330
    assert gpus[0]["class_code"] == 0x030200  # a 3D controller, not VGA
    assert gpus[0]["driver"] == "nvidia"
    assert others == []
    assert kmod.loaded_module(str(root)) == {"loaded": True, "version": "580.159.04", "flavour": "open"}
    assert secure_boot.secure_boot_state(str(root))["enabled"] is False  # no EFI


def test_turing_card_functions_are_not_all_gpus(tmp_path):
    root = fakehost.build_host("rtx2060s-before-driver", tmp_path)[0]
    gpus, others = pci.split_nvidia_functions(pci.read_pci_functions(str(root)))
    assert [(g["pci_address"], g["driver"]) for g in gpus] == [("0000:01:00.0", "nouveau")]
    assert [o["class_code"] for o in others] == [0x040300, 0x0C0330, 0x0C8000]
    assert kmod.loaded_module(str(root)) == {"loaded": False, "version": None, "flavour": None}


def test_audio_function_alone_is_no_gpu(tmp_path):
    root = fakehost.build_host("nvidia-audio-only", tmp_path)[0]
    gpus, others = pci.split_nvidia_functions(pci.read_pci_functions(str(root)))
    assert gpus == []
    assert len(others) == 1


def test_no_pci_tree_means_no_functions(tmp_path):
    assert pci.read_pci_functions(str(tmp_path)) == []


def test_unreadable_attribute_gives_none(tmp_path):
    device = tmp_path / "sys" / "bus" / "pci" / "devices" / "0000:01:00.0"
    device.mkdir(parents=True)
    (device / "vendor").write_text("garbage\n")
    [function] = pci.read_pci_functions(str(tmp_path))
    assert function["vendor_id"] is None
    assert function["class_code"] is None
    assert not pci.is_nvidia_gpu(function)


@pytest.mark.parametrize(
    ("text", "version", "flavour"),
    [
        (
            "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  (nixbld@)  \n",
            "580.159.04",
            "open",
        ),
        (
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.309.01  Tue Oct 14 08:32:49 UTC 2025\n"
            "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14+deb12u1)\n",
            "535.309.01",
            "proprietary",
        ),
        ("NVRM version: NVIDIA UNIX aarch64 Kernel Module  540.4.0  Release Build\n", "540.4.0", "proprietary"),
        ("something else\n", None, None),
    ],
)
def test_parse_proc_version(text, version, flavour):
    assert kmod.parse_proc_version(text) == (version, flavour)


def test_module_known_from_sys_module_only(tmp_path):
    root = fakehost.build_host("ampere-two-gpus", tmp_path)[0]
    assert kmod.loaded_module(str(root)) == {"loaded": True, "version": "570.172.08", "flavour": None}


@pytest.mark.parametrize(
    ("host", "efi", "enabled"),
    [
        ("h100", False, False),
        ("rtx2060s-before-driver", True, True),
        ("rtx2060s-with-driver", True, False),
        ("pascal-gtx1080", True, False),
        ("nvidia-audio-only", True, None),  # efivars directory empty: unreadable, not "off"
    ],
)
def test_secure_boot_state(tmp_path, host, efi, enabled):
    root = fakehost.build_host(host, tmp_path)[0]
    state = secure_boot.secure_boot_state(str(root))
    assert (state["efi"], state["enabled"]) == (efi, enabled)
    assert state["detail"]


def test_secure_boot_not_enforced_in_setup_mode(tmp_path):
    efivars = tmp_path / "sys" / "firmware" / "efi" / "efivars"
    efivars.mkdir(parents=True)
    (efivars / ("SecureBoot-%s" % secure_boot.EFI_GLOBAL_GUID)).write_bytes(bytes.fromhex("0600000001"))
    (efivars / ("SetupMode-%s" % secure_boot.EFI_GLOBAL_GUID)).write_bytes(bytes.fromhex("0600000001"))
    state = secure_boot.secure_boot_state(str(tmp_path))
    assert state["enabled"] is False
    assert state["setup_mode"] is True
    assert "setup mode" in state["detail"]
