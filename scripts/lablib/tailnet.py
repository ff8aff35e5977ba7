"""The lab's tailnet: headscale, tailscaled on every robot of a lab, and the controller's tailscaled.

    python3 -m lablib.tailnet --dir DIR --robots ROBOTS_DIR up [--address 10.201.0.1] [--port 8443]
    python3 -m lablib.tailnet --dir DIR status | inventory | down
    python3 -m lablib.tailnet --dir DIR key USER [--expiration 1h]       # a one-time pre-auth key
    python3 -m lablib.tailnet --dir DIR leave ROBOT | join ROBOT          # a robot off / back on the tailnet

ROBOTS_DIR is a robot lab of lablib (lab.json there). Every robot gets a host route to headscale's address through
its veth pair and joins as headscale user "robots" under its own name; the controller (this host, userspace
networking) joins as user "admin". Desktops join as user "desktops" with keys that the collection's key issuing
asks headscale's API for (api_key, see docs/desktops.md). Programs come from BIN_DIR (scripts/lab/tailnet/build.py).

Root is needed (addresses, network namespaces, TUN devices).
"""

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass, field

from . import netns
from .headscale import Headscale
from .lab import RobotLab
from .tailscaled import Tailscaled

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BIN_DIR = os.path.join(REPO, ".cache", "lab", "tailnet", "bin")
ROBOTS_USER = "robots"
ADMIN_USER = "admin"
DESKTOPS_USER = "desktops"


@dataclass
class LabTailnet:
    base_dir: str
    robots_dir: str = ""
    address: str = "10.201.0.1"
    port: int = 8443
    stun_port: int = 3478
    bin_dir: str = DEFAULT_BIN_DIR
    headscale: dict = field(default_factory=dict)
    controller: dict = field(default_factory=dict)
    robots: dict = field(default_factory=dict)  # name: {tailscaled record, "ip": tailnet address}

    def __post_init__(self):
        self.base_dir = os.path.abspath(self.base_dir)
        if self.robots_dir:
            self.robots_dir = os.path.abspath(self.robots_dir)

    # --- records ---------------------------------------------------------------------------------
    @property
    def record_file(self):
        return os.path.join(self.base_dir, "tailnet.json")

    def save(self):
        data = {
            k: getattr(self, k)
            for k in ("robots_dir", "address", "port", "stun_port", "bin_dir", "headscale", "controller", "robots")
        }
        tmp = self.record_file + ".tmp"
        with open(tmp, "w") as out:
            json.dump(data, out, indent=1)
        os.replace(tmp, self.record_file)

    @classmethod
    def load(cls, base_dir):
        tailnet = cls(base_dir)
        try:
            with open(tailnet.record_file) as record:
                data = json.load(record)
        except FileNotFoundError:
            return tailnet
        for key, value in data.items():
            setattr(tailnet, key, value)
        tailnet.__post_init__()
        return tailnet

    # --- parts -----------------------------------------------------------------------------------
    def program(self, name):
        path = os.path.join(self.bin_dir, name)
        if not os.access(path, os.X_OK):
            raise RuntimeError(
                "%s is missing: build it with scripts/lab/tailnet/build.py --out %s" % (path, self.bin_dir)
            )
        return path

    def server(self):
        hs = Headscale(os.path.join(self.base_dir, "headscale"), self.address, self.port, self.stun_port)
        for key in ("pid", "started"):
            setattr(hs, key, self.headscale.get(key, 0))
        return hs

    def robot_lab(self):
        return RobotLab.load(self.robots_dir)

    def robot_node(self, name):
        record = self.robots.get(name) or {}
        node = Tailscaled(os.path.join(self.base_dir, "robots", name), netns=name)
        node.pid, node.started = record.get("pid", 0), record.get("started", 0)
        return node

    def controller_node(self):
        node = Tailscaled(os.path.join(self.base_dir, "controller"), tun="userspace-networking", port=0)
        node.pid, node.started = self.controller.get("pid", 0), self.controller.get("started", 0)
        return node

    @property
    def ca_file(self):
        return self.server().ca_file

    @property
    def login_server(self):
        return self.server().url

    # --- lifecycle -------------------------------------------------------------------------------
    def up(self):
        """headscale, then the controller and every robot on the tailnet (idempotent)."""
        os.makedirs(self.base_dir, mode=0o755, exist_ok=True)
        hs = self.server()
        try:
            hs.start(self.program("headscale"))
        finally:
            self.headscale = {"pid": hs.pid, "started": hs.started}
            self.save()
        hs.api_key(self.program("headscale"))
        node = self.controller_node()
        self._join(node, ADMIN_USER, "lab-controller")
        self.controller = dict(node.record, ip=node.ipv4(self.program("tailscale")))
        self.save()
        for robot in self.robot_lab().robots:
            self.join(robot.name)
        return self.status()

    def join(self, name):
        """Robot NAME on the tailnet: a route to headscale, its tailscaled, `tailscale up` as itself."""
        robot = {r.name: r for r in self.robot_lab().robots}[name]
        netns.ip("-n", name, "route", "replace", "%s/32" % self.address, "via", robot.host_address)
        node = self.robot_node(name)
        self._join(node, ROBOTS_USER, name)
        self.robots[name] = dict(node.record, ip=node.ipv4(self.program("tailscale")))
        self.save()
        return self.robots[name]["ip"]

    def _join(self, node, user, hostname):
        tailscale = self.program("tailscale")
        node.start(self.program("tailscaled"), self.ca_file)
        state = node.status(tailscale).get("BackendState")
        if state != "Running":
            key = self.server().auth_key(self.program("headscale"), user, expiration="10m")
            node.up(tailscale, self.login_server, key, hostname)

    def leave(self, name):
        """Robot NAME off the tailnet: its tailscaled stops (headscale sees it go offline)."""
        node = self.robot_node(name)
        node.stop()
        self.robots.setdefault(name, {}).update(pid=0, started=0)
        self.save()

    def down(self):
        """Stop every tailscaled and headscale, remove the address and every file of the tailnet."""
        for name in list(self.robots):
            self.robot_node(name).stop()
            if netns.exists(name):
                netns.ip("-n", name, "route", "del", "%s/32" % self.address, check=False)
        self.controller_node().stop()
        self.server().stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.robots, self.controller, self.headscale = {}, {}, {}

    # --- questions -------------------------------------------------------------------------------
    def key(self, user, expiration="1h", reusable=False):
        return self.server().auth_key(self.program("headscale"), user, expiration=expiration, reusable=reusable)

    def api_key(self):
        return self.server().api_key(self.program("headscale"))

    def status(self):
        hs = self.server()
        nodes = (
            {n.get("given_name") or n.get("name"): n for n in hs.nodes(self.program("headscale"))}
            if hs.running()
            else {}
        )
        return {
            "headscale": {"url": hs.url, "running": hs.running(), "healthy": hs.running() and hs.healthy()},
            "controller": {"ip": self.controller.get("ip"), "running": self.controller_node().running()},
            "robots": {
                name: {
                    "ip": record.get("ip"),
                    "tailscaled": self.robot_node(name).running(),
                    "online": bool(nodes.get(name, {}).get("online")),
                }
                for name, record in self.robots.items()
            },
        }

    def proxy_command(self):
        """SSH's ProxyCommand that reaches a tailnet host through the controller's tailscaled."""
        return "%s --socket=%s nc %%h %%p" % (self.program("tailscale"), self.controller_node().socket)

    def inventory(self):
        """Tailnet variables of the robots and what the controller's tools need (for inventories and tests)."""
        return {
            "tailnet": {
                "login_server": self.login_server,
                "ca_file": self.ca_file,
                "api_url": self.login_server,
                "api_key_file": os.path.join(self.server().base_dir, "api_key"),
                "proxy_command": self.proxy_command(),
                "status_command": [self.program("tailscale"), "--socket=%s" % self.controller_node().socket],
                "base_domain": self.server().base_domain,
            },
            "robots": {name: {"tailnet_ip": r.get("ip"), "tailnet_name": name} for name, r in self.robots.items()},
        }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lablib.tailnet", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="the tailnet's directory (tailnet.json, headscale, nodes)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="headscale, the controller and every robot of ROBOTS on the tailnet")
    up.add_argument("--robots", required=True, help="the robot lab's directory (lablib --dir)")
    up.add_argument("--address", default="10.201.0.1", help="the lab-only address headscale listens on")
    up.add_argument("--port", type=int, default=8443)
    up.add_argument("--bin-dir", default=DEFAULT_BIN_DIR)
    sub.add_parser("down", help="stop everything of the tailnet and remove its files")
    sub.add_parser("status", help="headscale, the controller and each robot")
    sub.add_parser("inventory", help="tailnet variables for an inventory (JSON)")
    key = sub.add_parser("key", help="print a new one-time pre-auth key for a node of USER")
    key.add_argument("user")
    key.add_argument("--expiration", default="1h")
    for name in ("join", "leave"):
        robot = sub.add_parser(name, help="robot %s the tailnet" % ("back on" if name == "join" else "off"))
        robot.add_argument("robot")
    args = parser.parse_args(argv)

    tailnet = LabTailnet.load(args.dir)
    if args.command == "up":
        tailnet.robots_dir = os.path.abspath(args.robots)
        tailnet.address, tailnet.port, tailnet.bin_dir = args.address, args.port, os.path.abspath(args.bin_dir)
        print(json.dumps(tailnet.up(), indent=1))
    elif args.command == "down":
        tailnet.down()
    elif args.command == "status":
        status = tailnet.status()
        print(json.dumps(status, indent=1))
        healthy = status["headscale"]["healthy"] and all(r["online"] for r in status["robots"].values())
        return 0 if healthy else 1
    elif args.command == "inventory":
        print(json.dumps(tailnet.inventory(), indent=1))
    elif args.command == "key":
        print(tailnet.key(args.user, expiration=args.expiration))
    elif args.command == "join":
        print(tailnet.join(args.robot))
    else:
        tailnet.leave(args.robot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
