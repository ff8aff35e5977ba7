"""Benchmark: a fleet's launch with ros_launch vs plain `ssh setsid roslaunch`, on 1, 10 and 30 robots.

    sudo .venv/bin/python benchmarks/ros_launch_bench.py [--rounds 3] [--counts 1,10,30]

Both sides start the same launch on the same stand-in robots (scripts/lablib: network namespaces made here,
each with its own sshd and roscore, real ROS 1), all robots at once, and finish at the same point: the launch's
node registered at every robot's master and answering. Both log in as each robot's launch account over a fresh
SSH connection. The launch is roverlab_demo/bench.launch, one C++ node (Debian's rosout under another name): the
robots share this machine's CPUs, and thirty Python nodes starting at once would measure the CPUs, not the tools.

- ros_launch: `ansible-playbook playbooks/ros_launch.yml --forks N` for N robots, with wait_for [/bench_node] and
  the playbook's defaults, but for the timeout (the baseline's 120 s) and max_clock_skew (2 s instead of 0.5 s:
  the check runs and costs the same, but on this shared two-core machine, under the load of other work, thirty
  round trips at once were at times too slow to prove 0.5 s). Measured two ways: the launch task alone
  (ansible.posix.json callback: from the task's start to the last robot's result, which comes after its node is
  up), and the whole ansible-playbook process (Python start-up, inventory, the playbook's other tasks included).
- baseline: per robot, in parallel threads, `ssh robot '. env.sh; setsid roslaunch ... >log 2>&1 </dev/null &'`,
  then polling the robot's master every 0.1 s (as the module does) until the node is registered and answers.
- ping task: an ansible.builtin.ping task on the same robots with the same forks: Ansible's own fixed cost for any
  module task, printed for reference.

Rounds alternate between the sides. The medians, their ratios per robot count and the raw rounds are printed and
written to benchmarks/results/ros_launch.json. Nothing is asserted: the target (ros_launch within 1.3x of the
baseline at 10 and 30 robots) is for the reader. The machine's other load shows in the numbers.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import xmlrpc.client
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from lablib import RobotLab, free_subnet_base  # noqa: E402  (scripts/ is not a package on sys.path)

PLAYBOOK = REPO / "playbooks" / "ros_launch.yml"
# the ansible-playbook next to this Python (the project's venv), else the one in PATH
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
if not os.path.exists(ANSIBLE_PLAYBOOK):
    ANSIBLE_PLAYBOOK = "ansible-playbook"
NAME = "bench"
PACKAGE, LAUNCH_FILE, NODE = "roverlab_demo", "bench.launch", "/bench_node"
TARGET = 1.3
# seconds either side may take until the node is up
BASELINE_PATIENCE = 120


class Bench:
    def __init__(self, base, lab):
        self.base = base
        self.lab = lab
        self.inventory = base / "inventory.json"
        self.inventory.write_text(json.dumps(lab.inventory("launch")))
        self.env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            ANSIBLE_NOCOLOR="1",
        )
        self.runs = 0

    def _control_dir(self):
        """A fresh ControlPath directory: no SSH connection left over from an earlier round."""
        self.runs += 1
        control_dir = self.base / ("cp-%d" % self.runs)
        control_dir.mkdir()
        return control_dir

    def _playbook(self, playbook, robots, control_dir, extra=None):
        cmd = [ANSIBLE_PLAYBOOK, "-i", str(self.inventory), str(playbook), "--forks", str(len(robots))]
        cmd += ["--limit", ",".join(r.name for r in robots)]
        if extra is not None:
            vars_file = self.base / "vars.json"
            vars_file.write_text(json.dumps(extra))
            cmd += ["-e", "@%s" % vars_file]
        env = dict(self.env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(control_dir))
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError("ansible-playbook failed: %s\n%s" % (failures(proc.stdout), proc.stderr[-2000:]))
        return json.loads(proc.stdout), wall

    def ros_launch(self, robots):
        """(task seconds, ansible-playbook seconds) until every robot reported started with its node up."""
        control_dir = self._control_dir()
        extra = {
            "ros_launch_name": NAME,
            "ros_launch_package": PACKAGE,
            "ros_launch_file": LAUNCH_FILE,
            "ros_launch_wait_for": [NODE],
            # the same patience as the baseline's: thirty launches at once on two cores take a while
            "ros_launch_timeout": BASELINE_PATIENCE,
            # the clock check runs as always (one `date`, usually), with a bound that a controller at a load
            # average of 50 can still prove: the robots share its clock, and the check's cost is what counts here
            "ros_launch_max_clock_skew": 2.0,
        }
        output, wall = self._playbook(PLAYBOOK, robots, control_dir, extra)
        task = next(t for p in output["plays"] for t in p["tasks"] if t["task"]["name"] == "Apply the launch state")
        for host, result in task["hosts"].items():
            if result.get("failed") or NODE not in result.get("nodes_up", []):
                raise RuntimeError("%s: %s" % (host, result.get("msg")))
        if len(task["hosts"]) != len(robots):
            raise RuntimeError("ros_launch reported %d of %d robots" % (len(task["hosts"]), len(robots)))
        self._playbook(PLAYBOOK, robots, control_dir, {"ros_launch_name": NAME, "ros_launch_state": "stopped"})
        return task_seconds(task), wall

    def ping(self, robots):
        """Seconds of an ansible.builtin.ping task on ROBOTS: Ansible's fixed cost per module task."""
        playbook = self.base / "ping.yml"
        playbook.write_text(
            "- name: Ping\n  hosts: robots\n  gather_facts: false\n"
            "  tasks:\n    - name: Ping\n      ansible.builtin.ping:\n"
        )
        output, _wall = self._playbook(playbook, robots, self._control_dir())
        return task_seconds(output["plays"][0]["tasks"][0])

    def baseline(self, robots):
        """Seconds until the node is up on every robot, started with plain ssh + setsid, all robots at once."""
        pids = {}
        errors = []

        def one(robot):
            host_vars = self.lab.host_vars(robot, "launch")
            remote = ". %s; cd || exit 1; setsid roslaunch --wait %s %s > baseline.log 2>&1 < /dev/null & echo $!" % (
                host_vars["ros_robot_env_file"],
                PACKAGE,
                LAUNCH_FILE,
            )
            proc = subprocess.run(
                ["ssh", "-i", self.lab.controller_key, *self.lab.ssh_args().split(), "-o", "BatchMode=yes",
                 "-o", "ControlMaster=no", "%s@%s" % (robot.name, robot.address), remote],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                errors.append((robot.name, proc.stderr))
                return
            pids[robot.name] = int(proc.stdout.split()[-1])
            deadline = time.monotonic() + BASELINE_PATIENCE
            while not node_up(robot, NODE) and time.monotonic() < deadline:
                time.sleep(0.1)

        started = time.monotonic()
        threads = [threading.Thread(target=one, args=(robot,)) for robot in robots]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        for pid in pids.values():
            os.kill(pid, signal.SIGINT)  # roslaunch stops its node
        for robot in robots:
            deadline = time.monotonic() + 30
            pid = pids.get(robot.name)
            while ((pid and live(pid)) or node_up(robot, NODE)) and time.monotonic() < deadline:
                time.sleep(0.1)
        if errors or len(pids) != len(robots):
            raise RuntimeError("baseline ssh failed: %s" % errors)
        return elapsed


def failures(stdout):
    """{host: msg} of the failed results in an ansible.posix.json output (the output itself when it is not JSON)."""
    try:
        plays = json.loads(stdout)["plays"]
    except (ValueError, KeyError):
        return stdout[-3000:]
    return {
        host: result.get("msg")
        for play in plays
        for task in play["tasks"]
        for host, result in task["hosts"].items()
        if result.get("failed")
    }


def task_seconds(task):
    duration = task["task"]["duration"]
    return iso_seconds(duration["end"]) - iso_seconds(duration["start"])


def iso_seconds(stamp):
    """Seconds of an ansible.posix.json time stamp (UTC, isoformat + 'Z'; no fraction at a whole second)."""
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in stamp else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.strptime(stamp, pattern).timestamp()


def node_up(robot, name):
    master = xmlrpc.client.ServerProxy(robot.master_uri)
    try:
        code, _msg, uri = master.lookupNode("/bench", name)
        if code != 1:
            return False
        code, _msg, _pid = xmlrpc.client.ServerProxy(uri).getPid("/bench")
        return code == 1
    except (OSError, xmlrpc.client.Error):
        return False


def live(pid):
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def prepare(base, lab):
    """The ros_robot role on every robot (Ansible logs in as root there)."""
    (base / "root.json").write_text(json.dumps(lab.inventory("root")))
    playbook = base / "prepare.yml"
    playbook.write_text(
        "- name: Prepare\n  hosts: robots\n  gather_facts: false\n"
        "  roles:\n    - role: roverlab.clouddesktop.ros_robot\n"
    )
    subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(base / "root.json"), str(playbook), "--forks", str(len(lab.robots))],
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
        check=True,
        capture_output=True,
    )


def measure(bench, robots, rounds):
    rows = {"ros_launch_task_s": [], "ansible_playbook_s": [], "baseline_s": [], "ansible_ping_task_s": []}
    for number in range(1, rounds + 1):
        task_s, wall_s = bench.ros_launch(robots)
        rows["ros_launch_task_s"].append(task_s)
        rows["ansible_playbook_s"].append(wall_s)
        rows["baseline_s"].append(bench.baseline(robots))
        rows["ansible_ping_task_s"].append(bench.ping(robots))
        print(
            "  %2d robot(s) round %d: ros_launch task %.2fs, ansible-playbook %.2fs, baseline %.2fs, ping %.2fs"
            % (len(robots), number, task_s, wall_s, rows["baseline_s"][-1], rows["ansible_ping_task_s"][-1]),
            flush=True,
        )
    medians = {key: statistics.median(values) for key, values in rows.items()}
    medians["task_vs_baseline"] = medians["ros_launch_task_s"] / medians["baseline_s"]
    medians["playbook_vs_baseline"] = medians["ansible_playbook_s"] / medians["baseline_s"]
    return dict(medians, rounds=rows)


def report(results, rounds):
    print()
    print("time until every robot's node is up, all robots at once (medians of %d rounds)" % rounds)
    header = (
        "robots",
        "ros_launch task",
        "ansible-playbook",
        "baseline",
        "ping task",
        "task/baseline",
        "playbook/base",
    )
    print("%-7s %-16s %-17s %-9s %-10s %-14s %s" % header)
    for count, r in results.items():
        print(
            "%-7d %-16s %-17s %-9s %-10s %-14s %.2fx"
            % (
                count,
                "%.2fs" % r["ros_launch_task_s"],
                "%.2fs" % r["ansible_playbook_s"],
                "%.2fs" % r["baseline_s"],
                "%.2fs" % r["ansible_ping_task_s"],
                "%.2fx" % r["task_vs_baseline"],
                r["playbook_vs_baseline"],
            )
        )
    load = os.getloadavg()
    print("target: ros_launch within %.1fx of the baseline at 10 and 30 robots (not asserted)" % TARGET)
    print("load average at the end: %.1f %.1f %.1f on %d CPUs" % (*load, os.cpu_count()))
    return load


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--counts", default="1,10,30")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    if os.geteuid() != 0:
        sys.exit("the benchmark creates network namespaces and sshd instances: run it as root")

    base = Path("/tmp/roverlab-rosbench-%d" % os.getpid())
    base.mkdir(mode=0o755)
    lab = RobotLab(str(base / "lab"), prefix="rlb%d" % os.getpid(), subnet_base=free_subnet_base(230, avoid={201}))
    results = {}
    try:
        print("creating %d stand-in robots and preparing them with ros_robot ..." % max(counts), flush=True)
        lab.create(max(counts))
        prepare(base, lab)
        bench = Bench(base, lab)
        for count in counts:
            results[count] = measure(bench, lab.robots[:count], args.rounds)
    finally:
        lab.destroy()
        shutil.rmtree(base, ignore_errors=True)

    load = report(results, args.rounds)
    summary = {
        "launch": "%s/%s" % (PACKAGE, LAUNCH_FILE),
        "results": results,
        "load_average_at_end": load,
        "cpus": os.cpu_count(),
    }
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "ros_launch.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
