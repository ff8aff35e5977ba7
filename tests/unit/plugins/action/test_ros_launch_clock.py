"""The controller-side clock check of ros_launch (action plugin): offset estimate and decision."""

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.action import ros_launch
from ansible_collections.roverlab.clouddesktop.plugins.action.ros_launch import estimate_offset, skew_problem


def test_the_offset_lies_where_every_sample_puts_it():
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


class ScriptedRobot:
    """Stands in for the connection: each `date` call advances a fake controller clock by a round trip."""

    def __init__(self, monkeypatch, offset, round_trips, read_at=None):
        self.now = 1000.0
        self.offset = offset
        self.round_trips = list(round_trips)
        # when in each round trip the robot reads its clock (0: at once, 1: at the very end); halfway by default
        self.read_at = list(read_at or [0.5] * len(self.round_trips))
        self.calls = 0
        monkeypatch.setattr(ros_launch.time, "time", lambda: self.now)

    def execute(self, command, sudoable=False):
        assert command == ros_launch.CLOCK_COMMAND and sudoable is False
        round_trip = self.round_trips[self.calls]
        self.calls += 1
        remote = self.now + round_trip * self.read_at[self.calls - 1] + self.offset
        self.now += round_trip
        return {"rc": 0, "stdout": "%.9f\n" % remote, "stderr": ""}


def measure(robot, max_skew):
    action = object.__new__(ros_launch.ActionModule)  # only _measure_clock is exercised
    action._low_level_execute_command = robot.execute
    return action._measure_clock(max_skew)


def test_one_sample_is_enough_when_it_settles_the_question(monkeypatch):
    # the first round trip also opens the connection (0.3 s) and still proves the clock within 2 s
    robot = ScriptedRobot(monkeypatch, offset=0.01, round_trips=[0.3, 0.01, 0.01])
    offset, uncertainty = measure(robot, 2.0)
    assert robot.calls == 1
    assert offset == pytest.approx(0.01) and uncertainty == pytest.approx(0.15)


def test_a_clock_far_off_is_settled_by_the_first_sample_too(monkeypatch):
    robot = ScriptedRobot(monkeypatch, offset=45.0, round_trips=[0.3, 0.01, 0.01])
    offset = measure(robot, 2.0)[0]
    assert robot.calls == 1 and offset == pytest.approx(45.0)


def test_more_samples_while_the_round_trip_is_too_coarse_to_tell(monkeypatch):
    # 0.3 s round trip: +/- 0.15 s cannot show an offset of 0.02 s within 0.1 s; the second sample can
    robot = ScriptedRobot(monkeypatch, offset=0.02, round_trips=[0.3, 0.02, 0.02])
    offset, uncertainty = measure(robot, 0.1)
    assert robot.calls == 2
    assert uncertainty == pytest.approx(0.01) and skew_problem(offset, uncertainty, 0.1) is None


def test_at_most_five_samples_when_nothing_settles_it(monkeypatch):
    robot = ScriptedRobot(monkeypatch, offset=0.09, round_trips=[0.3, 0.2, 0.25, 0.3, 0.25])
    offset, uncertainty = measure(robot, 0.1)
    assert robot.calls == ros_launch.CLOCK_SAMPLES == 5
    assert uncertainty == pytest.approx(0.1), "read halfway, the shortest round trip bounds it best"
    assert "cannot be shown" in skew_problem(offset, uncertainty, 0.1)


def test_slow_round_trips_together_settle_what_none_settles_alone(monkeypatch):
    # a busy controller: every round trip takes 0.6 s, so no sample alone shows a good clock within 0.5 s
    # (+/- 0.3 s around an estimate that is itself 0.24 s off); one read late and one read early do
    robot = ScriptedRobot(monkeypatch, offset=0.0, round_trips=[0.6, 0.6, 0.6], read_at=[0.9, 0.1, 0.5])
    offset, uncertainty = measure(robot, 0.5)
    assert robot.calls == 2
    assert offset == pytest.approx(0.0) and uncertainty == pytest.approx(0.06)


def test_samples_that_contradict_each_other_fall_back_to_the_shortest_round_trip():
    # the robot's clock stepped by 10 s between the samples: no offset fits both
    assert estimate_offset([(0.0, 0.05, 0.1), (1.0, 11.3, 1.6)]) == pytest.approx((0.0, 0.05))
