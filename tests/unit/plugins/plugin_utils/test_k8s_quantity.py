"""Kubernetes quantities: the grammar, exact values, and the canonical text the API server stores."""

from fractions import Fraction

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Fraction(1, 2)),
        ("2", 2),
        ("1.5", Fraction(3, 2)),
        (".5", Fraction(1, 2)),
        ("3.5Gi", 3584 * 1024**2),
        ("1Ki", 1024),
        ("1k", 1000),
        ("1M", 10**6),
        ("1e3", 1000),
        ("1E3", 1000),
        ("12e-3", Fraction(12, 1000)),
        ("+4", 4),
        ("-1", -1),
        ("1n", Fraction(1, 10**9)),
        (3, 3),
        (0.25, Fraction(1, 4)),
    ],
)
def test_parse_gives_exact_values(text, value):
    assert quantity.parse(text) == value


@pytest.mark.parametrize(
    "bad", ["", "Gi", "1.5 Gi", "2 cores", "1GB", "1gi", "0x10", "1e", "--1", "1.2.3", True, None, [1]]
)
def test_parse_refuses_what_is_not_a_quantity(bad):
    with pytest.raises(quantity.QuantityError):
        quantity.parse(bad)


def test_finer_than_nano_is_rounded_up_like_kubernetes():
    assert quantity.parse("0.1n") == Fraction(1, 10**9)
    assert quantity.canonical("1.0000000001") == "1000000001n"


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("1.5", "1500m"),
        ("1000m", "1"),
        ("2000", "2k"),
        ("1200", "1200"),
        ("0.5", "500m"),
        ("3.5Gi", "3584Mi"),
        ("0.5Gi", "512Mi"),
        ("1024Mi", "1Gi"),
        ("1.5Ki", "1536"),
        ("100Mi", "100Mi"),
        ("512", "512"),
        ("1e3", "1e3"),
        ("12e6", "12e6"),
        ("0", "0"),
        ("0Gi", "0"),
        (4, "4"),
    ],
)
def test_canonical_matches_what_the_api_server_stores(text, stored):
    assert quantity.canonical(text) == stored


def test_equal_compares_values_not_text():
    assert quantity.equal("1Gi", "1024Mi")
    assert quantity.equal("1", "1000m")
    assert not quantity.equal("1G", "1Gi")


def test_as_number_is_an_int_when_whole():
    assert quantity.as_number("2") == 2 and isinstance(quantity.as_number("2"), int)
    assert quantity.as_number("250m") == 0.25
