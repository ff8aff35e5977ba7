"""Benchmark: the latency the lab's tailnet adds to a ROS 1 master call, against the direct path.

    sudo .venv/bin/python benchmarks/tailnet_bench.py [--rounds 3] [--probes 200]

Two STAND-IN robots (scripts/lablib: network namespaces made here, real ROS 1) on the lab's tailnet
(lablib.tailnet: headscale built from its Go module by scripts/lab/tailnet/build.py, tailscaled on a TUN device in
each robot's namespace). The robots' namespaces are joined by a veth link of their own, their "lab LAN": nothing
on the host forwards between them. From robot 2's namespace, one probe is a fresh TCP connection to robot 1's
ROS master (port 11311) and one XML-RPC getSystemState call over it, answered; timed from connect to answer.

- direct: to robot 1's address on the link;
- tailnet: to robot 1's tailnet address, through both tailscaleds: WireGuard straight over the link;
- tailnet (DERP): the same, with UDP on the link dropped in robot 1's namespace, so that tailscaled relays
  through headscale's embedded DERP server on the host (the path of the tailnet tests, where the direct route is
  blocked). The direct path is measured again beside it.

Each round sends PROBES probes per path, alternating between the paths of its phase; the path tailscaled used
(`tailscale ping`) is printed with each phase. Medians and 95th percentiles of all rounds' probes, and the ratios
tailnet/direct of the medians, are printed and written to benchmarks/results/tailnet.json. Nothing is asserted;
all processes share this machine's CPUs, and its other load shows in the numbers.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from lablib import RobotLab, free_subnet_base  # noqa: E402  (scripts/ is not a package on sys.path)
from lablib.tailnet import DEFAULT_BIN_DIR, LabTailnet  # noqa: E402

PREFIX = "rtb"
LINK = "lan0"  # the veth link between the two robots' namespaces (same name in each)
MASTER_PORT = 11311
PATH_PATIENCE = 90  # seconds tailscaled may take to settle on a path


def probe_once(uri):
    """Seconds from connect to answer of one getSystemState over a fresh connection."""
    began = time.perf_counter()
    proxy = xmlrpc.client.ServerProxy(uri)
    code, _msg, _state = proxy.getSystemState("/tailnet_bench")
    elapsed = time.perf_counter() - began
    proxy("close")()
    if code != 1:
        raise RuntimeError("%s answered getSystemState with code %s" % (uri, code))
    return elapsed


def probe_main(uris, count):
    """Inside the client's namespace: COUNT probes per URI, alternating; JSON {uri: [seconds]} on stdout."""
    samples = {uri: [] for uri in uris}
    for uri in uris:  # one untimed call each: connections set up, paths warm
        probe_once(uri)
    for _probe in range(count):
        for uri in uris:
            samples[uri].append(probe_once(uri))
    print(json.dumps(samples))


def in_netns(netns, *argv, timeout=300):
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError("%s in %s: %s%s" % (" ".join(argv), netns, proc.stdout, proc.stderr))
    return proc.stdout


def link_robots(one, two, subnet_base):
    """A veth link between the namespaces of robots ONE and TWO: ONE is .1, TWO is .2 of SUBNET_BASE.250.0/30."""
    addresses = ("%s.250.1" % subnet_base, "%s.250.2" % subnet_base)
    subprocess.run(
        ["ip", "-n", one.name, "link", "add", LINK, "type", "veth", "peer", "name", LINK, "netns", two.name],
        check=True,
        capture_output=True,
    )
    for robot, address in zip((one, two), addresses):
        subprocess.run(["ip", "-n", robot.name, "addr", "add", address + "/30", "dev", LINK], check=True)
        subprocess.run(["ip", "-n", robot.name, "link", "set", LINK, "up"], check=True)
    return addresses[0]


class Bench:
    def __init__(self, tailnet, server, client, server_link_ip, probes):
        self.tailnet = tailnet
        self.server, self.client = server, client
        self.tailscale = tailnet.program("tailscale")
        self.node = tailnet.robot_node(client.name)
        self.direct_uri = "http://%s:%d" % (server_link_ip, MASTER_PORT)
        self.tailnet_ip = tailnet.robots[server.name]["ip"]
        self.tailnet_uri = "http://%s:%d" % (self.tailnet_ip, MASTER_PORT)
        self.probes = probes

    def path(self):
        """`tailscale ping` from the client to the server: its last answer names the path (via ADDR or DERP)."""
        proc = self.node.cli(self.tailscale, "ping", "--c=5", "--timeout=5s", self.tailnet_ip, check=False, timeout=60)
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        pongs = [line for line in lines if line.startswith("pong")]
        # relayed, it pings on until --c and ends with "direct connection not established"
        return pongs[-1] if pongs else (lines[-1] if lines else "")

    def wait_path(self, relayed):
        """The ping line once tailscaled uses DERP (RELAYED) or WireGuard straight to the server (not RELAYED)."""
        deadline = time.monotonic() + PATH_PATIENCE
        while True:
            line = self.path()
            if line.startswith("pong") and ("via DERP" in line) == relayed:
                return line
            if time.monotonic() > deadline:
                raise RuntimeError("tailscaled did not take the %s path: %s" % ("DERP" if relayed else "direct", line))
            time.sleep(1)

    def data_path(self):
        """What `tailscale status` says the client's data to the server uses: CurAddr (direct) or its DERP relay."""
        peers = self.node.status(self.tailscale).get("Peer") or {}
        peer = next((p for p in peers.values() if self.tailnet_ip in (p.get("TailscaleIPs") or [])), {})
        if peer.get("CurAddr"):
            return "direct %s" % peer["CurAddr"]
        return "relay %s" % (peer.get("Relay") or "?")

    def phase(self, rounds):
        samples = {"direct": [], "tailnet": []}
        for number in range(1, rounds + 1):
            out = in_netns(
                self.client.name,
                sys.executable,
                str(Path(__file__).resolve()),
                "--probe",
                self.direct_uri,
                self.tailnet_uri,
                "--probes",
                str(self.probes),
            )
            got = json.loads(out)
            samples["direct"] += got[self.direct_uri]
            samples["tailnet"] += got[self.tailnet_uri]
            print(
                "  round %d: direct %.2f ms, tailnet %.2f ms (medians)"
                % (
                    number,
                    1000 * statistics.median(got[self.direct_uri]),
                    1000 * statistics.median(got[self.tailnet_uri]),
                ),
                flush=True,
            )
        return samples

    def block_udp(self):
        in_netns(self.server.name, "iptables", "-I", "INPUT", "-i", LINK, "-p", "udp", "-j", "DROP")


def summary(samples):
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return {"median_ms": 1000 * statistics.median(ordered), "p95_ms": 1000 * p95, "probes": len(ordered)}


def measure(bench, rounds):
    results = {}
    for name, relayed in (("wireguard", False), ("derp", True)):
        if relayed:
            bench.block_udp()
        line = bench.wait_path(relayed)
        print("phase %s: tailscale ping says: %s" % (name, line), flush=True)
        samples = bench.phase(rounds)
        data_path = bench.data_path()
        print("phase %s: tailscale status says, after it: %s" % (name, data_path), flush=True)
        direct, tailnet = summary(samples["direct"]), summary(samples["tailnet"])
        results[name] = {
            "path": line,
            "status_after": data_path,
            "direct": direct,
            "tailnet": tailnet,
            "ratio_median": tailnet["median_ms"] / direct["median_ms"],
            "ratio_p95": tailnet["p95_ms"] / direct["p95_ms"],
        }
    return results


def report(results, rounds, probes):
    print()
    print(
        "robot to robot: fresh TCP connection + getSystemState to the ROS master, %d probes x %d rounds"
        % (probes, rounds)
    )
    print("%-30s %-12s %-12s %s" % ("path", "median", "p95", "tailnet/direct (median, p95)"))
    for name, r in results.items():
        print(
            "%-30s %-12s %-12s"
            % ("direct (%s phase)" % name, "%.2f ms" % r["direct"]["median_ms"], "%.2f ms" % r["direct"]["p95_ms"])
        )
        print(
            "%-30s %-12s %-12s %.2fx, %.2fx"
            % (
                "tailnet via %s" % ("DERP relay" if name == "derp" else "WireGuard direct"),
                "%.2f ms" % r["tailnet"]["median_ms"],
                "%.2f ms" % r["tailnet"]["p95_ms"],
                r["ratio_median"],
                r["ratio_p95"],
            )
        )
    load = os.getloadavg()
    print("load average at the end: %.1f %.1f %.1f on %d CPUs" % (*load, os.cpu_count()))
    return load


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--probes", type=int, default=200, help="probes per path and round")
    parser.add_argument("--probe", nargs="+", metavar="URI", help=argparse.SUPPRESS)  # inside the client's namespace
    args = parser.parse_args()
    if args.probe:
        probe_main(args.probe, args.probes)
        return
    if os.geteuid() != 0:
        sys.exit("the benchmark creates network namespaces, TUN devices and a lab address: run it as root")

    began = time.monotonic()
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "lab" / "tailnet" / "build.py"), "--out", DEFAULT_BIN_DIR], check=True
    )
    base = Path("/tmp/roverlab-tailnetbench-%d" % os.getpid())
    base.mkdir(mode=0o755)
    subnet = free_subnet_base(220 + os.getpid() % 10, avoid={201})
    lab = RobotLab(str(base / "robots"), prefix="%s%d" % (PREFIX, os.getpid()), subnet_base=subnet)
    tailnet = LabTailnet(str(base / "tailnet"), robots_dir=lab.base_dir, address="%s.0.1" % subnet)
    try:
        print("creating 2 stand-in robots on a tailnet of their own (headscale on %s.0.1) ..." % subnet, flush=True)
        lab.create(2)
        server, client = lab.robots
        server_link_ip = link_robots(server, client, subnet)
        tailnet.up()
        bench = Bench(tailnet, server, client, server_link_ip, args.probes)
        results = measure(bench, args.rounds)
    finally:
        tailnet.down()
        lab.destroy()
        shutil.rmtree(base, ignore_errors=True)

    load = report(results, args.rounds, args.probes)
    print("whole run: %.0f s" % (time.monotonic() - began))
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    summary_file = {"results": results, "rounds": args.rounds, "probes": args.probes, "load_average_at_end": load}
    (out / "tailnet.json").write_text(json.dumps(summary_file, indent=1) + "\n")


if __name__ == "__main__":
    main()
