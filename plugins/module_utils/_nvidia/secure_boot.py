# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""UEFI Secure Boot state from efivarfs, without mokutil.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

An EFI variable file in /sys/firmware/efi/efivars starts with 4 bytes of attributes; the value follows.
SecureBoot and SetupMode (EFI global variable GUID 8be4df61-93ca-11d2-aa0d-00e098032b8c) hold one byte:
1 = on. Firmware in setup mode does not enforce signatures. A machine without /sys/firmware/efi booted
through legacy BIOS (or a VM without UEFI): there is no Secure Boot, so it counts as off, not as an error.
"""

import os

EFI_GLOBAL_GUID = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
EFI_DIR = os.path.join("sys", "firmware", "efi")


def _variable_byte(root, name):
    """The value byte of an EFI global variable; None when it cannot be read."""
    path = os.path.join(root, EFI_DIR, "efivars", "%s-%s" % (name, EFI_GLOBAL_GUID))
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[4] if len(data) >= 5 else None


def secure_boot_state(root="/"):
    """{'efi', 'enabled', 'setup_mode', 'detail'}; enabled is None only when EFI is there but unreadable."""
    if not os.path.isdir(os.path.join(root, EFI_DIR)):
        return {"efi": False, "enabled": False, "setup_mode": None, "detail": "no EFI firmware: Secure Boot is off"}
    secure_boot = _variable_byte(root, "SecureBoot")
    setup_mode = _variable_byte(root, "SetupMode")
    if secure_boot is None:
        return {
            "efi": True,
            "enabled": None,
            "setup_mode": None if setup_mode is None else setup_mode == 1,
            "detail": "EFI firmware, but the SecureBoot variable is unreadable (is efivarfs mounted?)",
        }
    enabled = secure_boot == 1 and setup_mode != 1
    return {
        "efi": True,
        "enabled": enabled,
        "setup_mode": None if setup_mode is None else setup_mode == 1,
        "detail": "Secure Boot is %s%s"
        % ("on" if enabled else "off", " (firmware in setup mode)" if secure_boot == 1 and setup_mode == 1 else ""),
    }
