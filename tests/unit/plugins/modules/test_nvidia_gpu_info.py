"""The nvidia_gpu_info module run against fake hosts (fixtures/gpu-host) and nvidia-smi stand-ins."""

import importlib.util
from pathlib import Path

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.modules import nvidia_gpu_info

_spec = importlib.util.spec_from_file_location(
    "fakehost", Path(__file__).resolve().parents[2] / "fixtures" / "gpu-host" / "fakehost.py"
)
fakehost = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fakehost)


def gpu_info(run_module, root, **args):
    return run_module(nvidia_gpu_info.main, dict(root_dir=str(root), **args))


def test_real_h100_host(run_module, tmp_path):
    root, nvidia_smi = fakehost.build_host("h100", tmp_path)
    result = gpu_info(run_module, root, nvidia_smi=nvidia_smi)
    assert result["changed"] is False
    assert result["gpu_present"] is True
    [gpu] = result["gpus"]
    assert gpu["pci_address"] == "0000:00:06.0"
    assert gpu["device_id"] == "0x2330"
    assert gpu["class_code"] == "0x030200"
    assert gpu["subsystem_id"] == "0x10de:0x16c1"
    assert gpu["architecture"] == "hopper"
    assert gpu["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["memory_mib"] == 81559
    assert gpu["uuid"] == "GPU-393d4bfa-0190-eaa2-1587-934b81bb1f2e"
    assert result["driver_loaded"] is True
    assert result["driver_version"] == "580.159.04"
    assert result["driver_flavour"] == "open"
    assert result["nvidia_smi"]["works"] is True
    assert result["secure_boot"]["enabled"] is False
    assert result["recommended_flavour"] == "open"


def test_lab_rover_before_the_driver(run_module, tmp_path):
    root = fakehost.build_host("rtx2060s-before-driver", tmp_path)[0]
    result = gpu_info(run_module, root, driver_branch=535, nvidia_smi=fakehost.failing_nvidia_smi(tmp_path))
    [gpu] = result["gpus"]
    assert (gpu["architecture"], gpu["kernel_driver"], gpu["device_id"]) == ("turing", "nouveau", "0x1f06")
    assert gpu["name"] is None and gpu["memory_mib"] is None
    assert gpu["open_kernel_module"] == {"supported": True, "required": False}
    assert [f["class_code"] for f in result["other_nvidia_functions"]] == ["0x040300", "0x0c0330", "0x0c8000"]
    assert result["driver_loaded"] is False
    assert result["driver_version"] is None
    assert result["nvidia_smi"]["works"] is False
    assert "couldn't communicate with the NVIDIA driver" in result["nvidia_smi"]["error"]
    assert result["secure_boot"]["enabled"] is True
    assert result["recommended_flavour"] == "proprietary"


def test_lab_rover_with_the_driver(run_module, tmp_path):
    root, nvidia_smi = fakehost.build_host("rtx2060s-with-driver", tmp_path)
    result = gpu_info(run_module, root, driver_branch=535, nvidia_smi=nvidia_smi)
    [gpu] = result["gpus"]
    assert gpu["name"] == "NVIDIA GeForce RTX 2060 SUPER"
    assert gpu["memory_mib"] == 8192
    assert gpu["index"] == 0
    assert result["driver_version"] == "535.309.01"
    assert result["driver_flavour"] == "proprietary"


def test_two_ampere_gpus_without_nvidia_smi(run_module, tmp_path):
    root = fakehost.build_host("ampere-two-gpus", tmp_path)[0]
    result = gpu_info(run_module, root, driver_branch=570)
    assert [g["architecture"] for g in result["gpus"]] == ["ampere", "ampere"]
    assert [g["class_code"] for g in result["gpus"]] == ["0x030000", "0x030200"]
    assert all(g["name"] is None and g["memory_mib"] is None for g in result["gpus"])
    assert result["nvidia_smi"] == {"path": None, "works": False, "error": "nvidia-smi is not installed"}
    assert result["driver_version"] == "570.172.08"
    assert result["recommended_flavour"] == "open"


@pytest.mark.parametrize("host", ["no-nvidia", "nvidia-audio-only"])
def test_hosts_without_gpu(run_module, tmp_path, host):
    root = fakehost.build_host(host, tmp_path)[0]
    result = gpu_info(run_module, root)
    assert result["gpu_present"] is False
    assert result["gpus"] == []
    assert result["recommended_flavour"] is None
    assert result["nvidia_smi"]["works"] is False


def test_mixed_generations_get_no_flavour(run_module, tmp_path):
    root = fakehost.build_host("blackwell-and-pascal", tmp_path)[0]
    result = gpu_info(run_module, root, driver_branch=570)
    assert result["recommended_flavour"] is None
    assert "blackwell" in result["recommended_flavour_reason"]


def test_branch_problem_reported_per_gpu(run_module, tmp_path):
    root = fakehost.build_host("blackwell-and-pascal", tmp_path)[0]
    result = gpu_info(run_module, root, driver_branch=535)
    problems = {g["architecture"]: g["branch_problem"] for g in result["gpus"]}
    assert problems == {"blackwell": "Blackwell GPUs need driver branch 570 or newer; 535 is too old", "pascal": None}


def test_unknown_device_id(run_module, tmp_path):
    root = fakehost.build_host("unknown-device-id", tmp_path)[0]
    result = gpu_info(run_module, root)
    assert result["gpus"][0]["architecture"] is None
    assert result["recommended_flavour"] is None


def test_check_mode_reports_the_same(run_module, tmp_path):
    root, nvidia_smi = fakehost.build_host("rtx2060s-with-driver", tmp_path)
    normal = gpu_info(run_module, root, nvidia_smi=nvidia_smi)
    checked = gpu_info(run_module, root, nvidia_smi=nvidia_smi, _ansible_check_mode=True)
    assert checked == normal


def test_unparsable_nvidia_smi_output_is_reported(run_module, tmp_path):
    root = fakehost.build_host("rtx2060s-with-driver", tmp_path)[0]
    script = tmp_path / "broken-nvidia-smi"
    script.write_text("#!/bin/sh\necho 'one, two'\n")
    script.chmod(0o755)
    result = gpu_info(run_module, root, nvidia_smi=str(script))
    assert result["nvidia_smi"]["works"] is False
    assert result["nvidia_smi"]["error"].startswith("cannot parse nvidia-smi output")
    # the driver version still comes from the loaded module
    assert result["driver_version"] == "535.309.01"


def test_other_root_does_not_run_the_nodes_nvidia_smi(run_module, tmp_path):
    root = fakehost.build_host("rtx2060s-with-driver", tmp_path)[0]
    result = gpu_info(run_module, root)
    assert result["nvidia_smi"]["path"] is None
