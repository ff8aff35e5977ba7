"""Processes of a stand-in robot: identity by PID + start time, and ending them."""

import contextlib
import os
import signal
import subprocess
import time


def start_time(pid):
    """The kernel's start time of PID (clock ticks since boot), or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is the state (field 3 of stat); a zombie has finished already
    return None if fields[0] in ("Z", "X") else int(fields[19])


def is_running(pid, started):
    return bool(pid) and start_time(pid) == started


def namespace_pids(netns):
    """PIDs of every process inside the network namespace NETNS (ip netns pids)."""
    out = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True, check=False).stdout
    # zombies are finished already (they wait for a parent, possibly a PID 1 that never reaps them)
    return [int(p) for p in out.split() if start_time(int(p)) is not None]


def end_processes(list_pids, grace=3.0):
    """SIGTERM what LIST_PIDS() returns, then SIGKILL what is left after GRACE seconds.

    LIST_PIDS is called again on every round, so that processes started meanwhile are caught too.
    Returns the PIDs still alive at the end (empty when all went).
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        pids = list_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while pids and time.monotonic() < deadline:
            time.sleep(0.05)
            pids = list_pids()
        if not pids:
            return []
    return list_pids()
