# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of roverlab.clouddesktop.ros_launch: the clock check, then the module on the robot.

Only the controller knows the controller's time, so the robot's clock offset is measured here, the way
NTP does it: note the controller's time before (t0) and after (t1) asking the robot for its time (r).
The robot read its clock somewhere between t0 and t1, so its offset lies between r - t1 and r - t0. Every
sample bounds it so, and it lies in all of those intervals at once: their intersection, whose middle is the
estimate and whose half width the uncertainty. (On a busy controller no single round trip may be short, while
a reading late in one round trip and one early in another still pin the offset down.) A start is refused
unless the offset is provably within max_clock_skew, that is |offset| + uncertainty <= max_clock_skew.
Samples are taken until they settle the question either way (at most CLOCK_SAMPLES): usually the first,
whose round trip also opens the SSH connection the module then reuses, so a good clock costs one extra
`date` on the robot.
"""

import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

CLOCK_COMMAND = "date +%s.%N"
CLOCK_SAMPLES = 5
CHECKED_STATES = ("started", "restarted")


def estimate_offset(samples):
    """(offset, uncertainty) from [(t0, remote, t1)]: the intersection of the samples' intervals.

    Each sample says the offset lies in [remote - t1, remote - t0]. Should the intervals not meet (a clock
    stepped while sampling), the sample with the shortest round trip alone counts.
    """
    low = max(remote - t1 for _t0, remote, t1 in samples)
    high = min(remote - t0 for t0, remote, _t1 in samples)
    if low > high:
        t0, remote, t1 = min(samples, key=lambda s: s[2] - s[0])
        low, high = remote - t1, remote - t0
    return (low + high) / 2.0, (high - low) / 2.0


def skew_problem(offset, uncertainty, max_skew):
    """Why the clock is not good enough for a launch (None when it is)."""
    if abs(offset) + uncertainty <= max_skew:
        return None
    if abs(offset) - uncertainty > max_skew:
        return "the robot's clock is off by %+.3f s (+/- %.3f s) from the controller's; max_clock_skew is %s s" % (
            offset,
            uncertainty,
            max_skew,
        )
    return (
        "the robot's clock offset %+.3f s +/- %.3f s cannot be shown to be within max_clock_skew %s s "
        "(the connection is too slow for the measurement)" % (offset, uncertainty, max_skew)
    )


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        max_skew = args.get("max_clock_skew")
        if max_skew is not None and args.get("state", "started") in CHECKED_STATES:
            try:
                max_skew = float(max_skew)
            except (TypeError, ValueError) as exc:
                raise AnsibleActionFail("max_clock_skew must be a number of seconds, not %r" % max_skew) from exc
            offset, uncertainty = self._measure_clock(max_skew)
            clock = {"offset": round(offset, 6), "uncertainty": round(uncertainty, 6)}
            problem = skew_problem(offset, uncertainty, max_skew)
            if problem:
                result.update(
                    failed=True, changed=False, msg="Not starting launch %s: %s" % (args.get("name"), problem)
                )
                result["clock_skew"] = clock
                return result
            result["clock_skew"] = clock
        result.update(
            self._execute_module(module_name="roverlab.clouddesktop.ros_launch", module_args=args, task_vars=task_vars)
        )
        return result

    def _measure_clock(self, max_skew):
        samples = []
        while len(samples) < CLOCK_SAMPLES:
            t0 = time.time()
            res = self._low_level_execute_command(CLOCK_COMMAND, sudoable=False)
            t1 = time.time()
            output = to_text(res.get("stdout", "")).strip()
            try:
                samples.append((t0, float(output), t1))
            except ValueError as exc:
                raise AnsibleActionFail(
                    "cannot read the robot's clock with %r (rc %s): %s %s"
                    % (CLOCK_COMMAND, res.get("rc"), output, to_text(res.get("stderr", "")).strip())
                ) from exc
            offset, uncertainty = estimate_offset(samples)
            if abs(offset) + uncertainty <= max_skew or abs(offset) - uncertainty > max_skew:
                break  # settled: provably within, or provably off
        return offset, uncertainty
