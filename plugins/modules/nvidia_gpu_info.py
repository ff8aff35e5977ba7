#!/usr/bin/python
# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: nvidia_gpu_info
short_description: Detect NVIDIA GPUs, the loaded driver and Secure Boot on a node
version_added: 0.1.0
description:
  - Finds NVIDIA GPUs from sysfs (PCI vendor C(0x10de), class VGA C(0x0300) or 3D controller C(0x0302)),
    so it works where C(lspci) is not installed. Other NVIDIA functions of a card (HD audio, USB) are
    listed apart and never count as GPUs.
  - Names the architecture of each GPU from its PCI device ID and recommends the kernel module flavour
    (open or proprietary) for the node, following NVIDIA's guidance (see docs/gpu.md).
  - Asks C(nvidia-smi --query-gpu) for name, memory and driver version when nvidia-smi is installed and
    can talk to the driver; otherwise those values are V(null).
  - Reads the loaded kernel module from C(/proc/driver/nvidia/version) or C(/sys/module/nvidia), and the
    Secure Boot state from efivarfs (no EFI firmware means Secure Boot is off).
  - Changes nothing.
author:
  - Rover Lab infrastructure team (@roverlab)
options:
  driver_branch:
    description:
      - The driver branch the node runs or is about to get (for example V(535) or V(570)).
      - Used for RV(recommended_flavour) and to report branches that cannot drive a GPU
        (RV(gpus[].branch_problem)). Without it the recommendation follows NVIDIA's current guidance.
    type: int
  nvidia_smi:
    description:
      - Path of the C(nvidia-smi) binary. By default it is searched in E(PATH) and C(/usr/local/nvidia/bin).
    type: path
  root_dir:
    description:
      - Directory under which C(/sys) and C(/proc) are read. Leave it at V(/) on a node; other values are
        for inspecting a mounted system image and for tests.
      - When it is not V(/), nvidia-smi runs only if O(nvidia_smi) is given.
    type: path
    default: /
attributes:
  check_mode:
    support: full
    description: Reads only; check mode returns the same facts.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
notes:
  - Architecture names come from PCI device ID blocks; an ID outside the known blocks gives
    RV(gpus[].architecture=null) and no flavour recommendation.
"""

EXAMPLES = r"""
- name: Detect GPUs
  roverlab.clouddesktop.nvidia_gpu_info:
    driver_branch: 535
  register: gpu_info

- name: Show what was found
  ansible.builtin.debug:
    msg: "{{ gpu_info.gpus | map(attribute='name') | list }} driver {{ gpu_info.driver_version }}"
  when: gpu_info.gpu_present
"""

RETURN = r"""
gpu_present:
  description: Whether the node has at least one NVIDIA GPU.
  returned: always
  type: bool
  sample: true
gpus:
  description: NVIDIA GPUs, sorted by PCI address.
  returned: always
  type: list
  elements: dict
  contains:
    pci_address:
      description: PCI address as sysfs writes it.
      type: str
      sample: "0000:01:00.0"
    device_id:
      description: PCI device ID.
      type: str
      sample: "0x1f06"
    subsystem_id:
      description: PCI subsystem vendor and device (the board maker), or null.
      type: str
      sample: "0x10de:0x13c2"
    class_code:
      description: PCI class code.
      type: str
      sample: "0x030000"
    kernel_driver:
      description: Kernel driver bound to the GPU (nvidia, nouveau, vfio-pci), or null.
      type: str
      sample: nvidia
    architecture:
      description: GPU architecture, or null when the device ID is in no known block.
      type: str
      sample: turing
    open_kernel_module:
      description: Whether the open kernel module supports (C(supported)) or is needed by (C(required)) this GPU.
      type: dict
      sample: {supported: true, required: false}
    branch_problem:
      description: Why O(driver_branch) cannot drive this GPU, or null.
      type: str
      sample: null
    name:
      description: Product name from nvidia-smi, or null without a working nvidia-smi.
      type: str
      sample: NVIDIA GeForce RTX 2060 SUPER
    memory_mib:
      description: Total memory in MiB from nvidia-smi, or null.
      type: int
      sample: 8192
    uuid:
      description: GPU UUID from nvidia-smi, or null.
      type: str
      sample: GPU-393d4bfa-0190-eaa2-1587-934b81bb1f2e
    index:
      description: nvidia-smi's index of the GPU, or null.
      type: int
      sample: 0
other_nvidia_functions:
  description: NVIDIA PCI functions that are not GPUs (the HD audio or USB function of a graphics card).
  returned: always
  type: list
  elements: dict
  sample: [{pci_address: "0000:01:00.1", device_id: "0x10f9", class_code: "0x040300", kernel_driver: snd_hda_intel}]
driver_loaded:
  description: Whether an nvidia kernel module is loaded.
  returned: always
  type: bool
  sample: true
driver_version:
  description: Version of the loaded kernel module (or of nvidia-smi's driver), or null.
  returned: always
  type: str
  sample: "535.309.01"
driver_flavour:
  description: Flavour of the loaded kernel module (open or proprietary), or null.
  returned: always
  type: str
  sample: proprietary
nvidia_smi:
  description: The nvidia-smi binary used and whether it worked; C(error) says why not.
  returned: always
  type: dict
  sample:
    path: /usr/bin/nvidia-smi
    works: false
    error: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.
secure_boot:
  description: UEFI Secure Boot state; C(enabled) is null only when EFI variables cannot be read.
  returned: always
  type: dict
  sample: {efi: false, enabled: false, setup_mode: null, detail: "no EFI firmware: Secure Boot is off"}
recommended_flavour:
  description:
    - Kernel module flavour for this node (open or proprietary).
    - Null when there is no GPU, or when no single flavour drives every GPU of the node.
  returned: always
  type: str
  sample: open
recommended_flavour_reason:
  description: Why RV(recommended_flavour) was chosen.
  returned: always
  type: str
  sample: "Turing and newer: NVIDIA recommends the open kernel module from branch 560"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._nvidia import arch, pci, secure_boot, smi
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._nvidia import kernel_module as kmod


def describe_gpu(function, branch):
    architecture = arch.architecture_of(function["device_id"])
    subsystem = None
    if function["subsystem_vendor_id"] is not None and function["subsystem_device_id"] is not None:
        subsystem = "%s:%s" % (pci.hex_id(function["subsystem_vendor_id"]), pci.hex_id(function["subsystem_device_id"]))
    return {
        "pci_address": function["pci_address"],
        "device_id": pci.hex_id(function["device_id"]),
        "subsystem_id": subsystem,
        "class_code": pci.hex_id(function["class_code"], 6),
        "kernel_driver": function["driver"],
        "architecture": architecture,
        "open_kernel_module": arch.kernel_module_support(architecture),
        "branch_problem": arch.branch_problem(architecture, branch),
        "name": None,
        "memory_mib": None,
        "uuid": None,
        "index": None,
    }


def describe_other(function):
    return {
        "pci_address": function["pci_address"],
        "device_id": pci.hex_id(function["device_id"]),
        "class_code": pci.hex_id(function["class_code"], 6),
        "kernel_driver": function["driver"],
    }


def find_nvidia_smi(module):
    if module.params["nvidia_smi"]:
        return module.params["nvidia_smi"]
    if module.params["root_dir"] != "/":
        return None
    return module.get_bin_path("nvidia-smi", opt_dirs=smi.EXTRA_PATHS)


def query_nvidia_smi(module, path):
    """(rows by PCI address, status dict). nvidia-smi failing is a fact to report, not a module failure."""
    status = {"path": path, "works": False, "error": None}
    if path is None:
        status["error"] = "nvidia-smi is not installed"
        return {}, status
    rc, out, err = module.run_command(smi.query_command(path))
    if rc != 0:
        status["error"] = (out.strip() or err.strip() or "nvidia-smi exited with %d" % rc).splitlines()[0]
        return {}, status
    try:
        rows = smi.parse_query(out)
    except ValueError as exc:
        status["error"] = "cannot parse nvidia-smi output: %s" % exc
        return {}, status
    status["works"] = True
    return rows, status


def main():
    module = AnsibleModule(
        argument_spec={
            "driver_branch": {"type": "int"},
            "nvidia_smi": {"type": "path"},
            "root_dir": {"type": "path", "default": "/"},
        },
        supports_check_mode=True,
    )
    root = module.params["root_dir"]
    branch = module.params["driver_branch"]

    gpu_functions, other_functions = pci.split_nvidia_functions(pci.read_pci_functions(root))
    gpus = [describe_gpu(f, branch) for f in gpu_functions]

    # asked also without a GPU: "installed but cannot reach a driver" is worth reporting (containers, images)
    smi_rows, smi_status = query_nvidia_smi(module, find_nvidia_smi(module))
    for gpu in gpus:
        gpu.update(
            {key: value for key, value in smi_rows.get(gpu["pci_address"], {}).items() if key != "driver_version"}
        )

    loaded = kmod.loaded_module(root)
    smi_versions = sorted({row["driver_version"] for row in smi_rows.values() if row["driver_version"]})
    flavour, reason = arch.recommended_flavour([g["architecture"] for g in gpus], branch)

    module.exit_json(
        changed=False,
        gpu_present=bool(gpus),
        gpus=gpus,
        other_nvidia_functions=[describe_other(f) for f in other_functions],
        driver_loaded=loaded["loaded"],
        driver_version=loaded["version"] or (smi_versions[0] if smi_versions else None),
        driver_flavour=loaded["flavour"],
        nvidia_smi=smi_status,
        secure_boot=secure_boot.secure_boot_state(root),
        recommended_flavour=flavour,
        recommended_flavour_reason=reason,
    )


if __name__ == "__main__":
    main()
