"""pytest helper: run fakekube in a subprocess for the length of a ``with`` block.

    from fakekube.testing import FakeKube

    def test_something(tmp_path):
        with FakeKube(tmp_path, kube_version="1.31.0") as api:
            run(["kubectl", "--kubeconfig", str(api.kubeconfig), "get", "ns"])

The server listens on a free loopback port, writes ``<directory>/kubeconfig`` and its log to
``<directory>/fakekube.log``; it is stopped by PID when the block ends, also when the block fails.
"""

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from . import DEFAULT_KUBE_VERSION

PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
READY_PREFIX = "fakekube listening on "


class FakeKubeError(RuntimeError):
    pass


class FakeKube:
    def __init__(
        self,
        directory,
        kube_version=DEFAULT_KUBE_VERSION,
        controllers=True,
        python=None,
        startup_timeout=30.0,
        extra_args=(),
    ):
        self.directory = Path(directory)
        self.kube_version = kube_version
        self.controllers = controllers
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args)
        self.kubeconfig = self.directory / "kubeconfig"
        self.log_path = self.directory / "fakekube.log"
        self.url = None
        self.pid = None
        self._process = None

    def command(self):
        command = [
            self.python,
            "-m",
            "fakekube",
            "--port",
            "0",
            "--kubeconfig",
            str(self.kubeconfig),
            "--kube-version",
            self.kube_version,
        ]
        if not self.controllers:
            command.append("--no-controllers")
        return command + self.extra_args

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self.command(), stdout=subprocess.PIPE, stderr=log, env=env, cwd=str(self.directory)
            )
        self.pid = self._process.pid
        try:
            self.url = self._read_url()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_url(self):
        # the first stdout line says where it listens; a dead process gives EOF instead
        line = self._process.stdout.readline().decode("utf-8", "replace").strip()
        if not line.startswith(READY_PREFIX):
            self._process.wait(timeout=5)
            raise FakeKubeError(
                "fakekube did not start (exit %s): %s\n%s" % (self._process.returncode, line, self.log())
            )
        return line[len(READY_PREFIX) :]

    def _wait_ready(self):
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._ready():
                return
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise FakeKubeError("fakekube at %s never became ready\n%s" % (self.url, self.log()))
            time.sleep(0.05)

    def _ready(self):
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=2)
        try:
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
        return False
