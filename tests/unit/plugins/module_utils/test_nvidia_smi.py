"""Parsing nvidia-smi --query-gpu output (plugins/module_utils/_nvidia/smi.py)."""

from pathlib import Path

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._nvidia import smi

REAL_H100_CSV = Path(__file__).resolve().parents[2] / "fixtures" / "gpu-host" / "h100" / "query-gpu.csv"


def test_real_h100_csv_with_header_and_units():
    # captured with --format=csv (header, units) and a different field list than the module asks for
    rows = smi.parse_query(REAL_H100_CSV.read_text())
    assert rows == {
        "0000:00:06.0": {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "uuid": "GPU-393d4bfa-0190-eaa2-1587-934b81bb1f2e",
            "memory_mib": 81559,
            "driver_version": "580.159.04",
        }
    }


def test_noheader_nounits_two_gpus():
    output = (
        "0, 00000000:17:00.0, NVIDIA GeForce RTX 3090, GPU-aaaa, 24576, 570.172.08\n"
        "1, 00000000:65:00.0, NVIDIA A100 80GB PCIe, GPU-bbbb, 81920, 570.172.08\n"
    )
    rows = smi.parse_query(output)
    assert sorted(rows) == ["0000:17:00.0", "0000:65:00.0"]
    assert rows["0000:65:00.0"]["memory_mib"] == 81920
    assert rows["0000:17:00.0"]["index"] == 0


def test_not_available_values_become_none():
    rows = smi.parse_query("0, 00000000:01:00.0, [N/A], [N/A], [N/A], 535.309.01\n")
    assert rows["0000:01:00.0"] == {
        "index": 0,
        "name": None,
        "uuid": None,
        "memory_mib": None,
        "driver_version": "535.309.01",
    }


def test_wrong_field_count_is_an_error():
    with pytest.raises(ValueError, match="expected 6 fields"):
        smi.parse_query("0, 00000000:01:00.0, NVIDIA GeForce RTX 2060 SUPER\n")


def test_header_without_bus_id_is_an_error():
    with pytest.raises(ValueError):
        smi.parse_query("index, name\n0, NVIDIA H100\n")


@pytest.mark.parametrize(
    ("bus_id", "normalized"),
    [
        ("00000000:00:06.0", "0000:00:06.0"),
        ("0000:01:00.0", "0000:01:00.0"),
        ("00000001:A1:00.0", "0001:a1:00.0"),
        ("01:00.0", "0000:01:00.0"),
    ],
)
def test_normalize_bus_id(bus_id, normalized):
    assert smi.normalize_bus_id(bus_id) == normalized


def test_query_command_asks_for_machine_readable_output():
    command = smi.query_command("/usr/bin/nvidia-smi")
    assert command[0] == "/usr/bin/nvidia-smi"
    assert "--format=csv,noheader,nounits" in command
    assert command[1] == "--query-gpu=" + ",".join(smi.QUERY_FIELDS)
