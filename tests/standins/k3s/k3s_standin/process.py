"""Child processes, systemd readiness and logging for the stand-in's long-running commands."""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

_PR_SET_PDEATHSIG = 1


def log(message):
    print("k3s-standin: %s" % message, file=sys.stderr, flush=True)


def _die_with_parent():
    # like k3s's own children: containerd and the API go when k3s goes (KillMode=process keeps only pods)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Children:
    """The processes this k3s started; stopped on exit, and watched so that k3s exits when one dies."""

    def __init__(self):
        self.processes = {}

    def start(self, name, argv, **kwargs):
        log("starting %s: %s" % (name, " ".join(argv)))
        self.processes[name] = subprocess.Popen(argv, preexec_fn=_die_with_parent, **kwargs)
        return self.processes[name]

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    def dead(self):
        """Name and exit status of a child that has exited, or None."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return name, process.returncode
        return None


def notify_systemd(message):
    """sd_notify(3) without libsystemd: k3s runs as Type=notify and reports READY=1 once it serves."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError("timed out after %d s waiting for %s" % (timeout, what))
        time.sleep(0.2)


def write_private(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = "%s.tmp%d" % (path, os.getpid())
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)
