# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The detached supervisor that runs a launch so that it outlives the SSH session that started it.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

The module forks; the child becomes the supervisor:

- ``setsid()``: a session of its own, so the hang-up of the SSH session (or its pty) never reaches it
  (``nohup`` is no help: roslaunch installs its own SIGHUP handler);
- ``PR_SET_CHILD_SUBREAPER``: nodes orphaned when roslaunch dies are re-parented to the supervisor,
  which ends them and reaps them;
- fds 0/1/2 on /dev/null and the launch's log file, every other fd closed: Ansible's connection sees EOF
  and returns at once;
- the launch runs in a process group of its own (roslaunch then gives each node a session of its own,
  so nodes are found by the tag in their environment, not by group).

It records what it sees in NAME.run.json, restarts the launch when the restart policy asks for it, and
ends when the launch ends for good or a stop is requested (``stop_requested`` in NAME.json).
"""

import contextlib
import ctypes
import json
import os
import select
import signal
import subprocess
import time

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import process as proc
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.command import TAG_NAME
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.state import StateError

PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36
KEPT_EXITS = 10


class SupervisorError(Exception):
    pass


def _prctl(option, value):
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _close_inherited_fds(keep):
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def exit_description(returncode):
    """(exit_code, signal name or None) from a Popen return code (negative: killed by a signal)."""
    if returncode is None:
        return None, None
    if returncode < 0:
        try:
            return returncode, signal.Signals(-returncode).name
        except ValueError:
            return returncode, "signal %d" % -returncode
    return returncode, None


def spawn(store, argv, env, cwd, tag, policy, timeout=15.0):
    """Fork the supervisor for STORE's launch and wait until the launch process exists.

    POLICY: dict with restart ("never" or "on-failure"), restart_limit, restart_window, restart_delay,
    orphan_grace (seconds a node orphaned by a crash gets between SIGINT, SIGTERM and SIGKILL).
    Returns {"supervisor": {pid, starttime}, "launch": {pid, starttime}}; SupervisorError when the launch
    could not be started (for example roslaunch not found).
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the supervisor: never returns
        code = 0
        try:
            os.close(read_fd)
            Supervisor(store, argv, env, cwd, tag, policy).run(write_fd)
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        message = _read_handshake(read_fd, timeout)
    finally:
        os.close(read_fd)
    supervisor = {"pid": pid, "starttime": proc.start_time(pid)}
    if "error" in message:
        _reap_quietly(pid)
        raise SupervisorError(message["error"])
    return {"supervisor": supervisor, "launch": message["launch"]}


def _read_handshake(fd, timeout):
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return {"error": "the supervisor did not report the launch process within %ss" % timeout}
        ready, _w, _x = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    try:
        return json.loads(data.decode().splitlines()[0])
    except (ValueError, IndexError):
        return {"error": "the supervisor ended before it started the launch"}


def _reap_quietly(pid):
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


class Supervisor:
    def __init__(self, store, argv, env, cwd, tag, policy):
        self.store = store
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.tag = tag
        self.policy = policy
        self.stop_signalled = False
        self.run_state = {
            "supervisor_pid": os.getpid(),
            "tag": tag,
            "phase": "starting",
            "restarts": 0,
            "restart_times": [],
            "exits": [],
        }

    # --- set-up ----------------------------------------------------------------------------------
    def _detach(self, handshake_fd):
        os.setsid()
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        _prctl(PR_SET_NAME, ctypes.c_char_p(("rl-sup:" + self.store.name)[:15].encode()))
        null = os.open(os.devnull, os.O_RDWR)
        log = os.open(self.store.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        for fd, target in ((0, null), (1, log), (2, log)):
            os.dup2(target, fd)
        _close_inherited_fds(keep=(handshake_fd,))
        # A Python handler (not SIG_IGN): exec() resets handled signals to their default, while an ignored
        # SIGINT would be inherited by roslaunch and every node, which then could not be stopped with it.
        for sig in (signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, *_):
        # someone stops the supervisor by hand: pass it on to the launch, and do not restart it
        self.stop_signalled = True
        launch = self.run_state.get("launch")
        if launch:
            proc.send_group(launch["pid"], launch["starttime"], signal.SIGINT)

    def _say(self, text):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        # a note that cannot be written (a full disk) must not end the supervisor and orphan the launch
        with contextlib.suppress(OSError):
            os.write(1, ("[ros_launch supervisor %s] %s\n" % (stamp, text)).encode())

    # --- main loop -------------------------------------------------------------------------------
    def run(self, handshake_fd):
        try:
            self._detach(handshake_fd)
        except OSError as exc:
            self._handshake(handshake_fd, {"error": "cannot open the launch's log %s: %s" % (self.store.log_file, exc)})
            return
        returncode = None
        while True:
            try:
                launch = self._start_launch()
            except OSError as exc:
                self._record_end("could not start %s: %s" % (self.argv[0], exc))
                if handshake_fd is not None:
                    self._handshake(handshake_fd, {"error": "cannot run %s: %s" % (self.argv[0], exc)})
                return
            if handshake_fd is not None:
                self._handshake(handshake_fd, {"launch": self.run_state["launch"]})
                handshake_fd = None
            returncode = self._wait(launch)
            code, signame = exit_description(returncode)
            self._say("launch pid %d ended: exit code %s%s" % (launch.pid, code, " (%s)" % signame if signame else ""))
            self.run_state["exits"] = (
                self.run_state["exits"] + [{"code": code, "signal": signame, "at": time.time()}]
            )[-KEPT_EXITS:]
            # recorded before the orphans are ended (that can take seconds): meanwhile the module sees the exit
            # and knows whether a restart follows ("restarting") or the supervisor is only finishing ("ending")
            restart = self._should_restart(returncode)
            self._save("restarting" if restart else "ending")
            self._end_orphans()
            if not restart:
                break
            if not self._sleep_unless_stopped(self.policy["restart_delay"]):
                break
            self.run_state["restarts"] += 1
            self.run_state["restart_times"].append(time.time())
        self._record_end("supervisor done")

    def _start_launch(self):
        launch = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            close_fds=True,
            preexec_fn=os.setpgrp,
        )
        started = proc.start_time(launch.pid)
        self.run_state["launch"] = {"pid": launch.pid, "starttime": started, "started_at": time.time()}
        self._say("started launch pid %d: %s" % (launch.pid, " ".join(self.argv)))
        self._save("running")
        return launch

    @staticmethod
    def _handshake(fd, message):
        try:
            os.write(fd, (json.dumps(message) + "\n").encode())
        finally:
            os.close(fd)

    @staticmethod
    def _wait(launch):
        """Wait for the launch, reaping every other child (orphans inherited as subreaper) meanwhile."""
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                return launch.poll()
            if pid == launch.pid:
                launch.returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                return launch.returncode

    # --- orphans ---------------------------------------------------------------------------------
    def _leftovers(self):
        found = dict(proc.descendants(os.getpid()))
        found.update(proc.tagged(TAG_NAME, self.tag, exclude=(os.getpid(),)))
        return sorted(found.items())

    def _end_orphans(self):
        """End what the launch left behind: descendants (re-parented to us) and tagged processes."""
        grace = self.policy["orphan_grace"]
        steps = (signal.SIGTERM, 1.0), (signal.SIGKILL, 1.0)
        if not self._stop_requested():
            # a crash: the orphaned nodes get the same chance to shut down cleanly that roslaunch gives them
            steps = (signal.SIGINT, grace), (signal.SIGTERM, grace / 2.0), (signal.SIGKILL, 1.0)
        for sig, wait in steps:
            left = self._leftovers()
            if not left:
                break
            self._say("%s to %d process(es) left behind: %s" % (sig.name, len(left), [p for p, _s in left]))
            for pid, started in left:
                proc.send(pid, started, sig)
            proc.wait_until(lambda: (proc.reap_children(), not self._leftovers())[1], wait)
        proc.reap_children()

    # --- restart policy and stop requests ----------------------------------------------------------
    def _stop_requested(self):
        if self.stop_signalled:
            return True
        try:
            request = self.store.load_request()
        except Exception:
            return True
        return not request or request.get("tag") != self.tag or bool(request.get("stop_requested"))

    def _should_restart(self, returncode):
        if returncode == 0 or self.policy["restart"] != "on-failure" or self._stop_requested():
            return False
        window_start = time.time() - self.policy["restart_window"]
        recent = [t for t in self.run_state["restart_times"] if t >= window_start]
        if len(recent) >= self.policy["restart_limit"]:
            self._say(
                "not restarting: %d restarts within %ss already (restart_limit)"
                % (len(recent), self.policy["restart_window"])
            )
            return False
        return True

    def _sleep_unless_stopped(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._stop_requested():
                return False
            time.sleep(0.1)
        return not self._stop_requested()

    # --- records ---------------------------------------------------------------------------------
    def _save(self, phase):
        # the module finds the launch through its own record too: supervising goes on without this one
        self.run_state["phase"] = phase
        try:
            self.store.save_run(self.run_state)
        except StateError as exc:
            self._say("could not record phase %s: %s" % (phase, exc))

    def _record_end(self, why):
        self._say(why)
        self.run_state["ended_at"] = time.time()
        self._save("ended")
