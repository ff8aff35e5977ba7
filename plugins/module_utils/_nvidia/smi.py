# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading `nvidia-smi --query-gpu` output.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.
"""

import csv
import re

QUERY_FIELDS = ("index", "pci.bus_id", "name", "uuid", "memory.total", "driver_version")
# Where nvidia-smi lives besides $PATH: drivers mounted from the host (GPU Operator, some cloud images).
EXTRA_PATHS = ["/usr/local/nvidia/bin"]


def query_command(nvidia_smi):
    return [nvidia_smi, "--query-gpu=%s" % ",".join(QUERY_FIELDS), "--format=csv,noheader,nounits"]


_BUS_ID = re.compile(r"(?:([0-9a-fA-F]+):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])")


def normalize_bus_id(bus_id):
    """``0000:00:06.0`` for both sysfs's ``0000:00:06.0`` and nvidia-smi's ``00000000:00:06.0``."""
    match = _BUS_ID.fullmatch(bus_id.strip())
    if not match:
        return bus_id.strip().lower()
    domain, bus, device, function = match.groups()
    return "%04x:%02x:%02x.%s" % (int(domain or "0", 16), int(bus, 16), int(device, 16), function)


def _number(value):
    """An int from ``81559`` or ``81559 MiB``; None for ``[N/A]`` and other non-numbers."""
    match = re.fullmatch(r"\s*(\d+)(?:\s*MiB)?\s*", value)
    return int(match.group(1)) if match else None


def _text(value):
    value = value.strip()
    return None if value in ("", "[N/A]", "N/A", "[Not Supported]") else value


def _header_fields(row):
    """Field names of a ``--format=csv`` header row (``memory.total [MiB]`` -> ``memory.total``), or None."""
    names = [cell.split(" [")[0].strip() for cell in row]
    return names if "pci.bus_id" in names else None


def parse_query(output):
    """Rows of ``--query-gpu`` CSV as dicts keyed by normalized PCI address.

    Reads what query_command asks for (``csv,noheader,nounits`` with QUERY_FIELDS in order) and also plain
    ``--format=csv`` output with a header line and units, whatever its fields, as captured by hand on a node.
    """
    gpus = {}
    fields = QUERY_FIELDS
    for number, row in enumerate(csv.reader(output.splitlines(), skipinitialspace=True)):
        if not row:
            continue
        header = _header_fields(row) if number == 0 else None
        if header:
            fields = header
            continue
        if len(row) != len(fields):
            raise ValueError("expected %d fields, got %d in %r" % (len(fields), len(row), ",".join(row)))
        values = dict(zip(fields, row))
        if "pci.bus_id" not in values:
            raise ValueError("the output has no pci.bus_id field")
        gpus[normalize_bus_id(values["pci.bus_id"])] = {
            "index": _number(values.get("index", "")),
            "name": _text(values.get("name", "")),
            "uuid": _text(values.get("uuid", "")),
            "memory_mib": _number(values.get("memory.total", "")),
            "driver_version": _text(values.get("driver_version", "")),
        }
    return gpus
