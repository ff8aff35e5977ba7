"""Benchmark: time until a launch is `started` with its nodes up, ros_launch vs plain ssh, 1/3/10 robots.

    sudo .venv/bin/python benchmarks/ros_launch_bench.py [--rounds 3] [--counts 1,3,10]

Both sides do the same thing on the same stand-in robots (scripts/lablib: network namespaces with their own
sshd and roscore, real ROS 1) and finish at the same point: /talker registered at the robot's master and
answering. Both log in as the robot's launch account with a fresh SSH connection.

- ros_launch: `ansible-playbook playbooks/ros_launch.yml` with wait_for [/talker] (its defaults, including
  the clock check). Measured two ways: the launch task alone (ansible.posix.json callback: from the task's
  start to the last robot's result, which comes after its nodes are up), and the whole ansible-playbook
  process (Python start-up, inventory, templating included).
- ansible floor: the same ansible-playbook machinery with only ansible.builtin.ping (fresh connection too):
  what any module task costs before it does anything, printed for reference.
- baseline: per robot, in parallel threads, `ssh robot '. env.sh; setsid roslaunch ... >log 2>&1 </dev/null &'`
  then polling the robot's master every 0.1 s (as the module does) until /talker is registered and answers.

Rounds alternate between the two sides; the medians and their ratios are printed and written to
benchmarks/results/ros_launch.json. Targets: ros_launch at most 1.3x the baseline for one robot, and 10
robots in at most 2x the time of one. The machine's other load shows in the numbers: run it on a quiet box.
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
NODE = "/talker"


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

    def _playbook(self, robots, extra, control_dir):
        vars_file = self.base / "vars.json"
        vars_file.write_text(json.dumps(extra))
        env = dict(self.env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(control_dir))
        cmd = [ANSIBLE_PLAYBOOK, "-i", str(self.inventory), str(PLAYBOOK), "-e", "@%s" % vars_file]
        cmd += ["--limit", ",".join(r.name for r in robots)]
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError("ansible-playbook failed:\n%s" % (proc.stdout[-3000:] + proc.stderr[-2000:]))
        return json.loads(proc.stdout), wall

    def ros_launch(self, robots):
        """(task seconds, ansible-playbook seconds) until every robot reported started with /talker up."""
        self.runs += 1
        control_dir = self.base / ("cp-%d" % self.runs)  # no SSH connection left over from an earlier round
        control_dir.mkdir()
        extra = {
            "ros_launch_name": NAME,
            "ros_launch_package": "roverlab_demo",
            "ros_launch_file": "talker.launch",
            "ros_launch_wait_for": [NODE],
        }
        output, wall = self._playbook(robots, extra, control_dir)
        task = next(t for p in output["plays"] for t in p["tasks"] if t["task"]["name"] == "Apply the launch state")
        for host, result in task["hosts"].items():
            if result.get("failed") or NODE not in result.get("nodes_up", []):
                raise RuntimeError("%s: %s" % (host, result.get("msg")))
        duration = task["task"]["duration"]
        task_seconds = iso_seconds(duration["end"]) - iso_seconds(duration["start"])
        self._playbook(robots, {"ros_launch_name": NAME, "ros_launch_state": "stopped"}, control_dir)
        return task_seconds, wall

    def ping(self, robots):
        """Seconds of an ansible.builtin.ping task on ROBOTS: Ansible's fixed cost per module task."""
        self.runs += 1
        control_dir = self.base / ("cp-%d" % self.runs)
        control_dir.mkdir()
        playbook = self.base / "ping.yml"
        playbook.write_text(
            "- name: Ping\n  hosts: robots\n  gather_facts: false\n  tasks:\n"
            "    - name: Ping\n      ansible.builtin.ping:\n"
        )
        env = dict(self.env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(control_dir))
        cmd = [ANSIBLE_PLAYBOOK, "-i", str(self.inventory), str(playbook), "--limit", ",".join(r.name for r in robots)]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=True)
        task = json.loads(proc.stdout)["plays"][0]["tasks"][0]["task"]["duration"]
        return iso_seconds(task["end"]) - iso_seconds(task["start"])

    def baseline(self, robots):
        """Seconds until /talker is up on every robot, started with plain ssh + setsid."""
        pids = {}
        errors = []

        def one(robot):
            host_vars = self.lab.host_vars(robot, "launch")
            remote = (
                ". %s; cd || exit 1; setsid roslaunch --wait roverlab_demo talker.launch "
                "> baseline.log 2>&1 < /dev/null & echo $!" % host_vars["ros_robot_env_file"]
            )
            proc = subprocess.run(
                ["ssh", "-i", self.lab.controller_key, *self.lab.ssh_args().split(), "-o", "BatchMode=yes",
                 "-o", "ControlMaster=no", "%s@%s" % (robot.name, robot.address), remote],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                errors.append((robot.name, proc.stderr))
                return
            pids[robot.name] = int(proc.stdout.split()[-1])
            while not node_up(robot, NODE):
                time.sleep(0.1)

        started = time.monotonic()
        threads = [threading.Thread(target=one, args=(robot,)) for robot in robots]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        if errors:
            raise RuntimeError("baseline ssh failed: %s" % errors)
        for robot in robots:
            os.kill(pids[robot.name], signal.SIGINT)  # roslaunch stops its nodes
        for robot in robots:
            deadline = time.monotonic() + 30
            while (live(pids[robot.name]) or node_up(robot, NODE)) and time.monotonic() < deadline:
                time.sleep(0.1)
        return elapsed


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--counts", default="1,3,10")
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
        (base / "root.json").write_text(json.dumps(lab.inventory("root")))
        prepare = base / "prepare.yml"
        prepare.write_text(
            "- name: Prepare\n  hosts: robots\n  gather_facts: false\n"
            "  roles:\n    - role: roverlab.clouddesktop.ros_robot\n"
        )
        subprocess.run(
            [ANSIBLE_PLAYBOOK, "-i", str(base / "root.json"), str(prepare)],
            cwd=REPO,
            env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
            check=True,
            capture_output=True,
        )
        bench = Bench(base, lab)
        for count in counts:
            robots = lab.robots[:count]
            task, wall, plain, ping = [], [], [], []
            for _round in range(args.rounds):
                task_s, wall_s = bench.ros_launch(robots)
                task.append(task_s)
                wall.append(wall_s)
                plain.append(bench.baseline(robots))
                ping.append(bench.ping(robots))
                print(
                    "  %2d robot(s) round %d: ros_launch task %.2fs, ansible-playbook %.2fs, baseline %.2fs, ping %.2fs"
                    % (count, _round + 1, task_s, wall_s, plain[-1], ping[-1]),
                    flush=True,
                )
            results[count] = {
                "ros_launch_task_s": statistics.median(task),
                "ansible_playbook_s": statistics.median(wall),
                "baseline_s": statistics.median(plain),
                "ansible_ping_task_s": statistics.median(ping),
                "rounds": {
                    "ros_launch_task_s": task,
                    "ansible_playbook_s": wall,
                    "baseline_s": plain,
                    "ansible_ping_task_s": ping,
                },
            }
    finally:
        lab.destroy()
        shutil.rmtree(base, ignore_errors=True)

    print()
    print("time to started with /talker up (medians of %d rounds)" % args.rounds)
    header = (
        "robots",
        "ros_launch task",
        "ansible-playbook",
        "baseline",
        "ping task",
        "task/baseline",
        "playbook/baseline",
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
                "%.2fx" % (r["ros_launch_task_s"] / r["baseline_s"]),
                r["ansible_playbook_s"] / r["baseline_s"],
            )
        )
    load = os.getloadavg()
    print("load average at the end: %.1f %.1f %.1f on %d CPUs" % (*load, os.cpu_count()))
    summary = {"results": results, "load_average_at_end": load, "cpus": os.cpu_count()}
    if 1 in results and 10 in results:
        one, ten = results[1], results[10]
        summary["ratios"] = {
            "one_robot_task_vs_baseline": one["ros_launch_task_s"] / one["baseline_s"],
            "one_robot_playbook_vs_baseline": one["ansible_playbook_s"] / one["baseline_s"],
            "ten_vs_one_task": ten["ros_launch_task_s"] / one["ros_launch_task_s"],
            "ten_vs_one_playbook": ten["ansible_playbook_s"] / one["ansible_playbook_s"],
            "ten_vs_one_baseline": ten["baseline_s"] / one["baseline_s"],
        }
        ratios = summary["ratios"]
        print()
        print("one robot, ros_launch vs baseline: %.2fx (task), %.2fx (whole ansible-playbook); target <= 1.3x"
              % (ratios["one_robot_task_vs_baseline"], ratios["one_robot_playbook_vs_baseline"]))  # fmt: skip
        print("10 robots vs 1, ros_launch: %.2fx (task), %.2fx (whole ansible-playbook); target <= 2x; baseline %.2fx"
              % (ratios["ten_vs_one_task"], ratios["ten_vs_one_playbook"], ratios["ten_vs_one_baseline"]))  # fmt: skip
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "ros_launch.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
