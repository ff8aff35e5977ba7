# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Process identity on Linux: a PID plus its /proc start time, so that a reused PID is never mistaken.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

Runs on the robot with the robot's own Python (3.8 or later, standard library only).
"""

import os
import signal
import time

PROC = "/proc"
BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


def boot_id():
    """The kernel's id of this boot: PIDs and start times from another boot mean nothing now."""
    with open(BOOT_ID_FILE) as handle:
        return handle.read().strip()


def read_stat(pid):
    """Fields of /proc/PID/stat as a dict, or None when there is no such process (or it is a zombie)."""
    try:
        with open("%s/%d/stat" % (PROC, pid), "rb") as handle:
            raw = handle.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    head, _sep, tail = raw.rpartition(")")
    fields = tail.split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return {
        "pid": pid,
        "comm": head.partition("(")[2],
        "state": fields[0],
        "ppid": int(fields[1]),
        "pgid": int(fields[2]),
        "sid": int(fields[3]),
        "starttime": int(fields[19]),
    }


def start_time(pid):
    stat = read_stat(pid) if pid else None
    return stat["starttime"] if stat else None


def is_same(pid, starttime):
    """True when PID is alive and is still the process that started at STARTTIME (not a reuse)."""
    return bool(pid) and starttime is not None and start_time(pid) == starttime


def uptime_of(starttime):
    """Seconds since a process with STARTTIME (clock ticks after boot) started."""
    with open("%s/uptime" % PROC) as handle:
        since_boot = float(handle.read().split()[0])
    return max(0.0, since_boot - starttime / float(os.sysconf("SC_CLK_TCK")))


def cmdline(pid):
    try:
        with open("%s/%d/cmdline" % (PROC, pid), "rb") as handle:
            return [a.decode("utf-8", "replace") for a in handle.read().split(b"\0") if a]
    except OSError:
        return []


def all_pids():
    pids = []
    for entry in os.listdir(PROC):
        if entry.isdigit():
            pids.append(int(entry))
    return pids


def environ_has(pid, needle):
    """Does the initial environment of PID hold the entry NEEDLE (bytes, "NAME=value")?

    Only processes of the same user (or any, for root) are readable; others count as not tagged.
    """
    try:
        with open("%s/%d/environ" % (PROC, pid), "rb") as handle:
            return needle in handle.read().split(b"\0")
    except OSError:
        return False


def tagged(name, value, exclude=()):
    """Live processes whose environment carries NAME=VALUE: [(pid, starttime)], sorted by pid."""
    needle = ("%s=%s" % (name, value)).encode()
    found = []
    for pid in all_pids():
        if pid in exclude or not environ_has(pid, needle):
            continue
        started = start_time(pid)
        if started is not None:
            found.append((pid, started))
    return sorted(found)


def descendants(root_pid):
    """Live descendants of ROOT_PID: [(pid, starttime)] (orphans re-parented to a subreaper included)."""
    children = {}
    stats = {}
    for pid in all_pids():
        stat = read_stat(pid)
        if stat:
            stats[pid] = stat
            children.setdefault(stat["ppid"], []).append(pid)
    found, todo = [], list(children.get(root_pid, []))
    while todo:
        pid = todo.pop()
        found.append((pid, stats[pid]["starttime"]))
        todo.extend(children.get(pid, []))
    return sorted(found)


def send(pid, starttime, sig):
    """Signal PID only if it is still the process that started at STARTTIME. True when delivered.

    With pidfds (Linux 5.3+, Python 3.9+) the check and the signal cannot be separated by a PID reuse;
    otherwise the window is the few microseconds between the check and kill().
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    send_via_pidfd = getattr(signal, "pidfd_send_signal", None)
    if pidfd_open and send_via_pidfd:
        try:
            fd = pidfd_open(pid)
        except OSError:
            return False
        try:
            if not is_same(pid, starttime):
                return False
            send_via_pidfd(fd, sig)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)
    if not is_same(pid, starttime):
        return False
    try:
        os.kill(pid, sig)
        return True
    except OSError:
        return False


def send_group(leader_pid, leader_starttime, sig):
    """Signal the process group led by LEADER_PID, but only while that leader is still the same process.

    Once the leader is gone its group id may be taken by another process, so the group is not signalled.
    """
    if not is_same(leader_pid, leader_starttime):
        return False
    try:
        os.killpg(leader_pid, sig)
        return True
    except OSError:
        return False


def wait_until(predicate, timeout, interval=0.05):
    """Poll PREDICATE until it is true or TIMEOUT seconds passed; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


def alive(processes):
    """The subset of [(pid, starttime)] still running as the same processes."""
    return [(pid, started) for pid, started in processes if is_same(pid, started)]


def reap_children():
    """Collect every finished child (a subreaper inherits orphans; they must not stay zombies)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
