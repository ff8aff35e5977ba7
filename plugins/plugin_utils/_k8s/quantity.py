# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes resource quantities ("500m", "3.5Gi", "1e3"): parse, compare, canonicalise.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax, so that modules
and controller-side filters can share it.

Values are exact ``fractions.Fraction`` objects. Parsing follows the grammar of
k8s.io/apimachinery/pkg/api/resource (a signed decimal number and one suffix: a binary SI suffix such as
``Gi``, a decimal SI suffix such as ``m`` or ``k``, or a decimal exponent such as ``e3``), including its
rule that precision finer than 1n is rounded up. ``canonical`` writes a value the way the API server
stores it, so that a manifest and the object read back compare equal as text.
"""

import math
import re
from fractions import Fraction

BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXPONENT = {exp: suffix for suffix, exp in DECIMAL_SUFFIXES.items()}
_BINARY_BY_POWER = {power: suffix for suffix, power in BINARY_SUFFIXES.items()}

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_QUANTITY_RE = re.compile(r"(?P<number>%s)(?P<suffix>(?:[eE][+-]?\d+)|[A-Za-z]*)" % _NUMBER)
_NANO = Fraction(1, 10**9)


class QuantityError(ValueError):
    """A value that is not a Kubernetes quantity."""


def parse_format(value):
    """Return ``(Fraction, format)`` for a quantity given as str, int or float.

    ``format`` is ``BinarySI``, ``DecimalSI`` or ``DecimalExponent``, as Kubernetes records it to
    choose how to print the value again. Raises QuantityError for anything else (bools, "", "1.5 Gi",
    "2 cores", "Gi", "1GB").
    """
    if isinstance(value, bool) or value is None:
        raise QuantityError("%r is not a quantity" % (value,))
    if isinstance(value, int):
        return Fraction(value), DECIMAL_SI
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise QuantityError("%r is not a quantity" % (value,))
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise QuantityError("%r is not a quantity" % (value,))
    match = _QUANTITY_RE.fullmatch(text)
    if not match:
        raise QuantityError("%r is not a quantity (examples: 500m, 2, 1.5, 512Mi, 30Gi)" % (value,))
    number = Fraction(match.group("number"))
    suffix = match.group("suffix")
    if suffix in BINARY_SUFFIXES:
        amount, fmt = number * (1024 ** BINARY_SUFFIXES[suffix]), BINARY_SI
    elif suffix in DECIMAL_SUFFIXES:
        amount, fmt = number * Fraction(10) ** DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    elif suffix[:1] in ("e", "E") and re.fullmatch(r"[eE][+-]?\d+", suffix):
        amount, fmt = number * Fraction(10) ** int(suffix[1:]), DECIMAL_EXPONENT
    else:
        raise QuantityError("%r has an unknown suffix %r (known: %s)" % (value, suffix, _known_suffixes()))
    return _round_up_to_nano(amount), fmt


def parse(value):
    """The exact value of a quantity as a Fraction; raises QuantityError."""
    return parse_format(value)[0]


def canonical(value):
    """The text the API server stores for a quantity: ``"1.5Gi"`` -> ``"1536Mi"``, ``"0.5"`` -> ``"500m"``."""
    amount, fmt = parse_format(value)
    return format_quantity(amount, fmt)


def format_quantity(amount, fmt=DECIMAL_SI):
    """Write an exact value in Kubernetes' canonical form for the given format."""
    amount = _round_up_to_nano(Fraction(amount))
    if amount == 0:
        return "0"
    if fmt == BINARY_SI and abs(amount) >= 1024 and amount.denominator == 1:
        return _format_binary(int(amount))
    return _format_decimal(amount, fmt == DECIMAL_EXPONENT)


def equal(left, right):
    """Whether two quantities have the same value ("1Gi" and "1024Mi" do)."""
    return parse(left) == parse(right)


def as_number(value):
    """The value as an int when it is whole, else as a float (for templates and messages)."""
    amount = parse(value)
    return int(amount) if amount.denominator == 1 else float(amount)


def _round_up_to_nano(amount):
    scaled = amount / _NANO
    if scaled.denominator == 1:
        return amount
    # Kubernetes rounds away from zero to the next nano unit rather than losing a request.
    whole = -((-scaled.numerator) // scaled.denominator) if amount > 0 else scaled.numerator // scaled.denominator
    return Fraction(whole) * _NANO


def _format_binary(amount):
    power = 0
    while power < 6 and amount % (1024 ** (power + 1)) == 0:
        power += 1
    if power == 0:
        return str(amount)
    return "%d%s" % (amount // 1024**power, _BINARY_BY_POWER[power])


def _format_decimal(amount, exponent_form):
    # The largest exponent, a multiple of 3 between -9 and 18, that leaves a whole mantissa.
    exponent = 18
    while exponent > -9 and (amount / Fraction(10) ** exponent).denominator != 1:
        exponent -= 3
    mantissa = amount / Fraction(10) ** exponent
    if exponent_form:
        return "%d%s" % (mantissa, "e%d" % exponent if exponent else "")
    return "%d%s" % (mantissa, _DECIMAL_BY_EXPONENT[exponent])


def _known_suffixes():
    decimal = [s for s in DECIMAL_SUFFIXES if s]
    return ", ".join(sorted(BINARY_SUFFIXES) + decimal) + ", e<N>"
