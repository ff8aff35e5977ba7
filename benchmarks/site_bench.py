"""Benchmark: `site.yml`'s first build of a cluster against its no-change run, on fresh lab nodes.

    .venv/bin/python benchmarks/site_bench.py [--rounds 2]

Each round makes two fresh rover node containers of its own (roverlab-bench-rover1 as the k3s server,
roverlab-bench-rover2 as an agent, on a network of their own; built by the lab's own scripts/lab/up.yml with other
names), runs `ansible-playbook site.yml` on them (the first build: common, the GPU roles that find no GPU, the k3s
STAND-IN installed from the lab's airgap directory and started, the agent joined, the kubeconfig fetched, the
device plugin's HelmChart applied through the real API server), then runs it again (the no-change run, which
must report changed=0, or the round counts as failed), and removes the nodes. The robots are left out: they are
the lab's, shared with whatever else runs, and the role that prepares them has nothing to do with the cluster.

Printed: the median wall time of each run (the whole ansible-playbook process), their ratio, and the raw rounds;
also written to benchmarks/results/site.json. Target: the no-change run at most 0.30 of the first build. Nothing
is asserted about timings; the exit status is 1 only when a run failed or the second run changed something.
Needs the project's Docker engine (scripts/docker-engine.sh) and the k3s stand-in (tests/standins/k3s).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ANSIBLE_PLAYBOOK = str(Path(PYTHON).parent / "ansible-playbook")
if not os.path.exists(ANSIBLE_PLAYBOOK):
    ANSIBLE_PLAYBOOK = "ansible-playbook"
TARGET = 0.30
PREFIX = "roverlab-bench"
SUBNET = "172.31.251"
NODES = [
    {"name": PREFIX + "-rover1", "ip": SUBNET + ".11"},
    {"name": PREFIX + "-rover2", "ip": SUBNET + ".12"},
]
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def lab_vars(name):
    return yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / name).read_text())


class Bench:
    def __init__(self, workdir, logs=None):
        self.workdir = workdir
        self.logs = logs
        self.runs = 0
        self.k3s_version = lab_vars("k3s_cluster.yml")["k3s_version"]
        self.airgap = REPO / ".cache" / "lab" / "k3s-airgap"
        self.images = workdir / "images"  # no desktop image: site.yml does not need one
        self.images.mkdir()
        self.lab_vars = workdir / "lab-vars.json"
        self.lab_vars.write_text(
            json.dumps(
                {
                    "lab_network": PREFIX,
                    "lab_subnet": SUBNET + ".0/24",
                    "lab_nodes": NODES,
                    "lab_images_dir": str(self.images),
                }
            )
        )
        self.inventory = workdir / "hosts.yml"
        self.inventory.write_text(yaml.safe_dump(self.inventory_data()))
        self.env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
        )

    def inventory_data(self):
        """The lab's inventory (inventories/lab) for the bench's two nodes and the controller, no robots."""
        cluster = dict(lab_vars("k3s_cluster.yml"))
        cluster["k3s_airgap_dir"] = str(self.airgap / self.k3s_version)
        return {
            "all": {
                "vars": {"roverlab_kubeconfig": str(self.workdir / "kube" / "config.yaml")},
                "children": {
                    "k3s_cluster": {
                        "vars": cluster,
                        "children": {
                            "k3s_servers": {"hosts": {NODES[0]["name"]: None}},
                            "k3s_agents": {"hosts": {NODES[1]["name"]: None}},
                        },
                    },
                    "robots": {"hosts": {}},
                    "controller": {
                        "hosts": {
                            "localhost": {
                                "ansible_connection": "local",
                                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                            }
                        }
                    },
                },
            }
        }

    def run(self, *argv, timeout=1800):
        proc = subprocess.run(
            argv, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(
                "%s failed (rc %d):\n%s\n%s"
                % (" ".join(argv), proc.returncode, proc.stdout[-5000:], proc.stderr[-2000:])
            )
        return proc.stdout

    def prepare(self):
        """The base image and the k3s stand-in's airgap directory, as scripts/lab.sh up makes them (cached)."""
        self.run(str(REPO / "scripts" / "build-images.sh"))
        self.run(
            PYTHON, str(REPO / "tests" / "standins" / "k3s" / "build.py"), "--out", str(self.airgap), self.k3s_version
        )

    def nodes(self, state):
        playbook = "up.yml" if state == "up" else "down.yml"
        self.run(
            ANSIBLE_PLAYBOOK,
            "-i",
            str(self.inventory),
            "-e",
            "@%s" % self.lab_vars,
            str(REPO / "scripts" / "lab" / playbook),
        )

    def site(self):
        started = time.monotonic()
        out = self.run(ANSIBLE_PLAYBOOK, "-i", str(self.inventory), str(REPO / "site.yml"))
        seconds = time.monotonic() - started
        self.runs += 1
        if self.logs:
            (self.logs / ("site-%d.log" % self.runs)).write_text(out)
        recap = {m.group(1): tuple(int(g) for g in m.groups()[1:]) for m in RECAP.finditer(out)}
        tasks = sum(counts[0] for counts in recap.values())
        changed = {host: counts[1] for host, counts in recap.items() if counts[1]}
        return seconds, tasks, changed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--logs", type=Path, help="keep each site.yml run's output in this folder")
    args = parser.parse_args()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="site-bench-"))
    bench = Bench(workdir, args.logs)
    rounds, failed = [], None
    try:
        bench.prepare()
        for number in range(1, args.rounds + 1):
            bench.nodes("down")  # leftovers of a killed run
            bench.nodes("up")
            first, first_tasks, first_changed = bench.site()
            again, again_tasks, changed = bench.site()
            rounds.append(
                {"first": round(first, 1), "no_change": round(again, 1), "ok_tasks": [first_tasks, again_tasks]}
            )
            print(
                "round %d: first build %.1f s (%d ok), no-change run %.1f s (%d ok), ratio %.2f"
                % (number, first, first_tasks, again, again_tasks, again / first),
                flush=True,
            )
            if not first_changed:
                failed = "the first build changed nothing: the nodes were not fresh"
                break
            if changed:
                failed = "the no-change run changed something: %s" % changed
                break
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        failed = str(error)
    finally:
        try:
            bench.nodes("down")
        except RuntimeError as error:
            print("could not remove the bench nodes: %s" % error, file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)

    if rounds:
        first = statistics.median(r["first"] for r in rounds)
        again = statistics.median(r["no_change"] for r in rounds)
        ratio = again / first
        print()
        print("site.yml on two fresh lab nodes, %d round(s), median wall time of ansible-playbook" % len(rounds))
        print("  %-26s %8s" % ("run", "seconds"))
        print("  %-26s %8.1f" % ("first build", first))
        print("  %-26s %8.1f" % ("no-change run (changed=0)", again))
        print("  ratio no-change / first build: %.2f (target at most %.2f)" % (ratio, TARGET))
        results = REPO / "benchmarks" / "results"
        results.mkdir(exist_ok=True)
        (results / "site.json").write_text(
            json.dumps(
                {
                    "when": datetime.now().isoformat(timespec="seconds"),
                    "load_average": os.getloadavg(),
                    "rounds": rounds,
                    "median_seconds": {"first": first, "no_change": again},
                    "ratio": round(ratio, 3),
                    "target": TARGET,
                },
                indent=2,
            )
            + "\n"
        )
    if failed:
        print("FAILED: " + failed, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
