"""The lab's coordination server: headscale, with its embedded DERP server, on one lab-only address.

headscale is built from its Go module (scripts/lab/tailnet/headscale, by scripts/lab/tailnet/build.py). It is the
real coordination server, not a stand-in. Here it

- listens on ADDRESS only (HTTPS and DERP on PORT, STUN on STUN_PORT, metrics and gRPC on PORT+1 and PORT+2): an
  address the lab adds to the host's loopback device, so that the rover node containers, the desktops and the
  robots' network namespaces (through a host route) reach it, and nothing else on the machine listens there;
- serves TLS with a certificate of the lab's own CA (made here with openssl): Tailscale clients reach DERP only
  over TLS, so every client of the lab trusts that CA (SSL_CERT_FILE for tailscaled; TS_LOGIN_SERVER_CA for the
  desktops, see docs/desktops.md);
- uses only its own DERP region (no DERP map from the Internet: the lab is offline) and MagicDNS under
  BASE_DOMAIN.

    hs = Headscale(base_dir, "10.201.0.1")
    hs.start(binary)              # idempotent; writes config, CA, certificate
    hs.auth_key("desktops")       # a one-time pre-auth key for a node of that headscale user
    hs.stop()
"""

import contextlib
import datetime
import json
import os
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from . import procs

# the DERP region of the lab: its number and code (any number not used by another region of the map)
DERP_REGION_ID = 900
DERP_REGION_CODE = "roverlab"
# environment mark of the lab's tailnet processes (as roscore.MARK for a robot's master)
MARK = "ROVERLAB_LAB_TAILNET"


@dataclass
class Headscale:
    base_dir: str
    address: str  # the lab-only address headscale listens on
    port: int = 8443
    stun_port: int = 3478
    base_domain: str = "tailnet.lab.test"
    pid: int = 0
    started: int = 0

    def __post_init__(self):
        self.base_dir = os.path.abspath(self.base_dir)

    # --- files -----------------------------------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.base_dir, *parts)

    @property
    def config_file(self):
        return self.path("config.yaml")

    @property
    def ca_file(self):
        """The lab CA's certificate: what every client of the tailnet must trust."""
        return self.path("tls", "ca.pem")

    @property
    def socket(self):
        return self.path("headscale.sock")

    @property
    def log_file(self):
        return self.path("headscale.log")

    @property
    def url(self):
        return "https://%s:%d" % (self.address, self.port)

    @property
    def record(self):
        return asdict(self)

    # --- lifecycle -------------------------------------------------------------------------------
    def running(self):
        return procs.is_running(self.pid, self.started)

    def start(self, binary, timeout=60.0):
        """Start headscale (kept when it already runs); returns once /health answers over TLS."""
        os.makedirs(self.base_dir, mode=0o700, exist_ok=True)
        os.chmod(self.base_dir, 0o700)
        add_address(self.address)
        if self.running():
            return
        self._write_tls()
        self._write_config()
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.base_dir, MARK: self.base_dir}
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                [binary, "-c", self.config_file, "serve"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid, self.started = proc.pid, procs.start_time(proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("headscale exited with %s; see %s" % (proc.returncode, self.log_file))
            if self.healthy():
                return
            time.sleep(0.2)
        raise RuntimeError("headscale did not answer on %s within %ss; see %s" % (self.url, timeout, self.log_file))

    def stop(self):
        """Stop headscale; the address goes with it. Its database stays in base_dir (users, nodes, keys)."""
        if self.running():
            pid, started = self.pid, self.started
            procs.end_processes(lambda: [pid] if procs.is_running(pid, started) else [])
        self.pid = self.started = 0
        remove_address(self.address)

    def pause(self):
        """Stop headscale but keep its address (the coordination server down, as the tests make it)."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while self.running() and time.monotonic() < deadline:
                time.sleep(0.05)
        self.pid = self.started = 0

    def healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=3, context=self.tls_context()) as answer:  # noqa: S310 - our own https URL
                return answer.status == 200
        except (OSError, urllib.error.URLError, ssl.SSLError):
            return False

    def tls_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    # --- configuration ---------------------------------------------------------------------------
    def _write_tls(self):
        """The lab CA and headscale's certificate for ADDRESS (kept while they exist and name this address)."""
        tls = self.path("tls")
        os.makedirs(tls, mode=0o700, exist_ok=True)
        marker = self.path("tls", "address")
        with contextlib.suppress(OSError), open(marker) as known:
            if known.read() == self.address and os.path.exists(self.path("tls", "server.pem")):
                return
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        ca_key, server_key, csr = (
            self.path("tls", "ca.key"),
            self.path("tls", "server.key"),
            self.path("tls", "csr.pem"),
        )
        extensions = self.path("tls", "server.ext")
        with open(extensions, "w") as ext:
            ext.write(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:%s\n" % self.address
            )
        ca = ["-subj", "/CN=roverlab lab tailnet CA", "-keyout", ca_key, "-out", self.ca_file]
        ca += ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        signed = ["-CA", self.ca_file, "-CAkey", ca_key, "-CAcreateserial", "-days", "825", "-extfile", extensions]
        for argv in (
            ["req", "-x509", *key, "-days", "3650", *ca],
            ["req", *key, "-subj", "/CN=%s" % self.address, "-keyout", server_key, "-out", csr],
            ["x509", "-req", "-in", csr, *signed, "-out", self.path("tls", "server.pem")],
        ):
            subprocess.run(["openssl", *argv], check=True, capture_output=True)
        os.chmod(self.ca_file, 0o644)
        with open(marker, "w") as known:
            known.write(self.address)

    def _write_config(self):
        config = {
            "server_url": self.url,
            "listen_addr": "%s:%d" % (self.address, self.port),
            "metrics_listen_addr": "%s:%d" % (self.address, self.port + 1),
            "grpc_listen_addr": "%s:%d" % (self.address, self.port + 2),
            "grpc_allow_insecure": False,
            "noise": {"private_key_path": self.path("noise_private.key")},
            "prefixes": {"v4": "100.64.0.0/10", "v6": "fd7a:115c:a1e0::/48", "allocation": "sequential"},
            "derp": {
                "server": {
                    "enabled": True,
                    "region_id": DERP_REGION_ID,
                    "region_code": DERP_REGION_CODE,
                    "region_name": "Rover Lab (headscale's embedded DERP)",
                    "stun_listen_addr": "%s:%d" % (self.address, self.stun_port),
                    "private_key_path": self.path("derp_server_private.key"),
                    "automatically_add_embedded_derp_region": True,
                    "ipv4": self.address,
                },
                # no DERP map from the Internet: the lab is offline, its own region is the only one
                "urls": [],
                "paths": [],
                "auto_update_enabled": False,
            },
            "disable_check_updates": True,
            "ephemeral_node_inactivity_timeout": "30m",
            "database": {"type": "sqlite", "sqlite": {"path": self.path("db.sqlite"), "write_ahead_log": True}},
            "tls_cert_path": self.path("tls", "server.pem"),
            "tls_key_path": self.path("tls", "server.key"),
            "log": {"format": "text", "level": "info"},
            "policy": {"mode": "file", "path": ""},
            "dns": {
                "magic_dns": True,
                "base_domain": self.base_domain,
                "override_local_dns": False,
                "nameservers": {"global": [], "split": {}},
                "search_domains": [],
                "extra_records": [],
            },
            "unix_socket": self.socket,
            "unix_socket_permission": "0700",
            "logtail": {"enabled": False},
            "randomize_client_port": False,
        }
        # JSON is YAML: no YAML library needed on the host's Python
        with open(self.config_file, "w") as out:
            json.dump(config, out, indent=1)

    # --- the command line (over the unix socket) ------------------------------------------------
    def cli(self, binary, *args):
        proc = subprocess.run(
            [binary, "-c", self.config_file, *args, "--output", "json"],
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": "/usr/bin:/bin", "HOME": self.base_dir},
        )
        if proc.returncode != 0:
            raise RuntimeError("headscale %s failed: %s" % (" ".join(args), (proc.stderr or proc.stdout).strip()))
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def user_id(self, binary, name):
        """The id of headscale user NAME, created when missing."""
        for user in self.cli(binary, "users", "list") or []:
            if user.get("name") == name:
                return int(user["id"])
        return int(self.cli(binary, "users", "create", name)["id"])

    def auth_key(self, binary, user, expiration="1h", reusable=False, tags=()):
        """A new pre-auth key for a node of USER (one use unless REUSABLE)."""
        args = ["preauthkeys", "create", "--user", str(self.user_id(binary, user)), "--expiration", expiration]
        if reusable:
            args.append("--reusable")
        if tags:
            args += ["--tags", ",".join(tags)]
        return self.cli(binary, *args)["key"]

    def expire_key(self, binary, user, key):
        """Revoke KEY (headscale expires it now): a node that has not used it yet can no longer join with it."""
        self.cli(binary, "preauthkeys", "expire", "--user", str(self.user_id(binary, user)), key)

    def api_key(self, binary):
        """An API key for headscale's REST API (the collection's key issuing), made once and kept 0600."""
        path = self.path("api_key")
        with contextlib.suppress(OSError), open(path) as kept:
            key = kept.read().strip()
            if key:
                return key
        proc = subprocess.run(
            [binary, "-c", self.config_file, "apikeys", "create", "--expiration", "3650d"],
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": "/usr/bin:/bin", "HOME": self.base_dir},
        )
        key = proc.stdout.strip().splitlines()[-1]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
        return key

    def nodes(self, binary):
        return self.cli(binary, "nodes", "list") or []

    def expire_node(self, binary, node_id):
        self.cli(binary, "nodes", "expire", "--identifier", str(node_id))


def utc_in(seconds):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def add_address(address):
    """ADDRESS/32 on the host's loopback device: reachable from the host's containers and namespaces only."""
    if " %s/32 " % address not in _ip("-4", "-o", "addr", "show", "dev", "lo").stdout:
        _ip("addr", "add", "%s/32" % address, "dev", "lo")


def remove_address(address):
    if " %s/32 " % address in _ip("-4", "-o", "addr", "show", "dev", "lo").stdout:
        _ip("addr", "del", "%s/32" % address, "dev", "lo", check=False)
