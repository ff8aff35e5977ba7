"""The controller-side clock check of ros_launch (action plugin): offset estimate and decision."""

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.action.ros_launch import estimate_offset, skew_problem


def test_the_sample_with_the_shortest_round_trip_wins():
    samples = [
        (100.0, 145.6, 100.8),  # slow round trip (first connection)
        (101.0, 146.03, 101.02),
        (102.0, 147.1, 102.3),
    ]
    offset, uncertainty = estimate_offset(samples)
    assert offset == pytest.approx(45.02)
    assert uncertainty == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("offset", "uncertainty", "verdict"),
    [
        (0.05, 0.01, None),  # provably within 0.5 s
        (-0.45, 0.04, None),
        (45.0, 0.01, "off by +45.000 s"),
        (-2.0, 0.01, "off by -2.000 s"),
        (0.3, 0.4, "cannot be shown to be within"),  # the measurement is too coarse to tell
    ],
)
def test_a_start_needs_the_offset_provably_within_the_limit(offset, uncertainty, verdict):
    problem = skew_problem(offset, uncertainty, 0.5)
    if verdict is None:
        assert problem is None
    else:
        assert verdict in problem
