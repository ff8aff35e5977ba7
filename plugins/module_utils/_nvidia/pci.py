# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NVIDIA PCI functions as sysfs lists them.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

Reads /sys/bus/pci/devices/*/{vendor,device,class,subsystem_vendor,subsystem_device,driver} under a root
directory, so that tests (and anyone inspecting a mounted image) can point it at a fake tree. It needs no
pciutils: `lspci` is often not installed on GPU hosts.
"""

import os

NVIDIA_VENDOR_ID = 0x10DE
# PCI base class 0x03 (display): sub-class 0x00 is a VGA controller, 0x02 a 3D controller (no display
# outputs: data-centre GPUs such as the H100). An NVIDIA card also exposes other functions (HD audio 0x0403,
# USB 0x0c03, UCSI 0x0c80 on Turing); those are not GPUs.
GPU_CLASSES = (0x0300, 0x0302)
PCI_DEVICES_DIR = os.path.join("sys", "bus", "pci", "devices")


def _read_hex(path):
    """An integer from a sysfs attribute such as ``0x10de``; None when absent or unreadable."""
    try:
        with open(path) as f:
            return int(f.read().strip(), 16)
    except (OSError, ValueError):
        return None


def _bound_driver(device_dir):
    """Name of the kernel driver bound to the function (the ``driver`` symlink), or None."""
    link = os.path.join(device_dir, "driver")
    if not os.path.islink(link):
        return None
    return os.path.basename(os.path.realpath(link))


def read_pci_functions(root="/"):
    """Every PCI function under ROOT/sys/bus/pci/devices, sorted by address, as dicts."""
    devices_dir = os.path.join(root, PCI_DEVICES_DIR)
    try:
        addresses = sorted(os.listdir(devices_dir))
    except OSError:
        return []
    functions = []
    for address in addresses:
        device_dir = os.path.join(devices_dir, address)
        pci_class = _read_hex(os.path.join(device_dir, "class"))
        functions.append(
            {
                "pci_address": address,
                "vendor_id": _read_hex(os.path.join(device_dir, "vendor")),
                "device_id": _read_hex(os.path.join(device_dir, "device")),
                "subsystem_vendor_id": _read_hex(os.path.join(device_dir, "subsystem_vendor")),
                "subsystem_device_id": _read_hex(os.path.join(device_dir, "subsystem_device")),
                # sysfs gives the 24-bit class code (base, sub-class, programming interface)
                "class_code": pci_class,
                "driver": _bound_driver(device_dir),
            }
        )
    return functions


def is_nvidia_gpu(function):
    return function["vendor_id"] == NVIDIA_VENDOR_ID and (function["class_code"] or 0) >> 8 in GPU_CLASSES


def split_nvidia_functions(functions):
    """(GPUs, other NVIDIA functions) among FUNCTIONS."""
    nvidia = [f for f in functions if f["vendor_id"] == NVIDIA_VENDOR_ID]
    return [f for f in nvidia if is_nvidia_gpu(f)], [f for f in nvidia if not is_nvidia_gpu(f)]


def hex_id(value, digits=4):
    """``0x1f06`` for 7942: the form sysfs and `lspci -n` use."""
    return None if value is None else "0x%0*x" % (digits, value)
