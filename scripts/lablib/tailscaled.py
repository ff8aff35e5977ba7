"""tailscaled for the lab: on a robot (inside its network namespace, with a TUN device there) or on the controller.

The client is tailscaled from the Go module tailscale.com at the version the desktop image pins
(roles/desktop_image/files/tailscale), built by scripts/lab/tailnet/build.py; `tailscale` is the same program (a
link named so). A robot's tailscaled runs in the robot's network namespace with its own TUN device, routes and
state directory, so ROS on the robot binds and connects to tailnet addresses like on a real robot. The controller's
runs in userspace networking (no device, no routes on the shared host): Ansible reaches robots through it with
`tailscale nc` as SSH's ProxyCommand.

    node = Tailscaled(state_dir, netns="roverlab-robot1")
    node.start(tailscaled_binary, ca_file)
    node.up(tailscale_binary, "https://10.201.0.1:8443", key, "roverlab-robot1")
    node.ipv4(tailscale_binary)
"""

import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass

from . import procs
from .headscale import MARK


@dataclass
class Tailscaled:
    state_dir: str
    netns: str = ""  # empty: the host's own namespace (then userspace networking)
    tun: str = "tailscale0"  # or "userspace-networking"
    port: int = 41641  # WireGuard's UDP port (0: any)
    pid: int = 0
    started: int = 0

    @property
    def socket(self):
        return os.path.join(self.state_dir, "tailscaled.sock")

    @property
    def log_file(self):
        return os.path.join(self.state_dir, "tailscaled.log")

    @property
    def record(self):
        return asdict(self)

    def running(self):
        return procs.is_running(self.pid, self.started)

    def start(self, binary, ca_file, timeout=30.0):
        """Start tailscaled (kept when it runs); returns once its socket answers."""
        if self.running():
            return
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        argv = [
            binary,
            "--statedir=%s" % self.state_dir,
            "--socket=%s" % self.socket,
            "--tun=%s" % self.tun,
            "--port=%d" % self.port,
        ]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": self.state_dir,
            # the lab's coordination server has a certificate of the lab's own CA
            "SSL_CERT_FILE": ca_file,
            # offline lab: no log uploads to Tailscale's log server
            "TS_NO_LOGS_NO_SUPPORT": "true",
            MARK: self.netns or "controller",
        }
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pid, self.started = proc.pid, procs.start_time(proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    "tailscaled (%s) exited with %s; see %s" % (self.where, proc.returncode, self.log_file)
                )
            if os.path.exists(self.socket) and self.cli_ok(binary):
                return
            time.sleep(0.1)
        raise RuntimeError("tailscaled (%s) did not answer within %ss; see %s" % (self.where, timeout, self.log_file))

    @property
    def where(self):
        return self.netns or "controller"

    def stop(self):
        if self.running():
            pid, started = self.pid, self.started
            procs.end_processes(lambda: [pid] if procs.is_running(pid, started) else [])
        self.pid = self.started = 0

    # --- the tailscale CLI -------------------------------------------------------------------------
    def cli(self, binary, *args, check=True, timeout=90):
        proc = subprocess.run(
            [binary, "--socket=%s" % self.socket, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env={"PATH": "/usr/bin:/bin", "HOME": self.state_dir},
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                "tailscale %s (%s) failed: %s" % (args[0], self.where, (proc.stderr or proc.stdout).strip())
            )
        return proc

    def cli_ok(self, binary):
        return self.cli(binary, "status", "--json", check=False, timeout=10).returncode in (0, 1)

    def status(self, binary):
        return json.loads(self.cli(binary, "status", "--json", check=False, timeout=20).stdout or "{}")

    def up(self, binary, login_server, auth_key, hostname, timeout="60s"):
        """Join the tailnet (no MagicDNS on the robots: ROS there advertises addresses, not names)."""
        args = [
            "up",
            "--login-server=%s" % login_server,
            "--hostname=%s" % hostname,
            "--accept-dns=false",
            "--timeout=%s" % timeout,
        ]
        if auth_key:
            args.append("--auth-key=%s" % auth_key)
        self.cli(binary, *args)

    def down(self, binary):
        self.cli(binary, "down")

    def ipv4(self, binary):
        return self.cli(binary, "ip", "-4").stdout.strip()


def wait_for_peer(binary, node, peer_ip, timeout=60.0):
    """Wait until NODE's tailscaled can reach PEER_IP over the tailnet (tailscale ping, through DERP or direct)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        proc = node.cli(binary, "ping", "--c=1", "--timeout=5s", peer_ip, check=False, timeout=20)
        if proc.returncode == 0:
            return proc.stdout.strip()
        last = (proc.stdout + proc.stderr).strip()
        time.sleep(0.5)
    raise RuntimeError("%s cannot reach %s over the tailnet: %s" % (node.where, peer_ip, last))
