"""Kubernetes quantities, as the scheduler reads requests and allocatable resources."""

from fractions import Fraction

import pytest
from fakekube.quantity import QuantityError, parse_quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", Fraction(1)),
        ("500m", Fraction(1, 2)),
        ("1500m", Fraction(3, 2)),
        ("0.5", Fraction(1, 2)),
        (".5", Fraction(1, 2)),
        ("2Ki", Fraction(2048)),
        ("1Mi", Fraction(2**20)),
        ("16Gi", Fraction(16 * 2**30)),
        ("1Ti", Fraction(2**40)),
        ("1k", Fraction(1000)),
        ("2M", Fraction(2 * 10**6)),
        ("3G", Fraction(3 * 10**9)),
        ("1T", Fraction(10**12)),
        ("1e3", Fraction(1000)),
        ("1E3", Fraction(1000)),
        ("5e-1", Fraction(1, 2)),
        ("100n", Fraction(1, 10**7)),
        ("-1", Fraction(-1)),
        (2, Fraction(2)),
        (0.25, Fraction(1, 4)),
    ],
)
def test_parses_every_suffix_and_form(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "1Gb", "one", "1.2.3", "Gi", "1 Gi", True])
def test_rejects_what_kube_apiserver_rejects(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_binary_and_decimal_suffixes_differ():
    assert parse_quantity("1Gi") > parse_quantity("1G")
