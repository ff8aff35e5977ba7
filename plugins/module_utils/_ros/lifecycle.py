# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start, stop and inspect one named launch on the robot (the logic behind the ros_launch module).

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

A launch is in one of these phases (RV(state) of the module):

- ``stopped``: no record of it;
- ``running``: the launch process recorded in the state is alive (same PID and start time, same boot);
- ``restarting``: the launch ended and its supervisor waits to start it again (restart policy);
- ``exited``: the launch ended for good and the exit code is known; its supervisor has ended, or is
  ending what the launch left behind;
- ``stale``: the record is from another boot; nothing in it refers to a process of this boot.
"""

import os
import pwd
import signal
import time
import uuid

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import command as cmd
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import process as proc
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import run as _run
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.allowlist import Allowlist
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.graph import (
    Ros1Graph,
    ros1_master_problem,
    ros2_node_names,
)
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.state import (
    StateError,
    StateStore,
    secret_key,
    write_text,
)
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.supervisor import spawn

DEFAULT_MASTER_URI = "http://localhost:11311"
# the launch account's key for digests of secret_env values, in its home (outside the state directory)
DIGEST_KEY_FILE = ".roverlab_ros_launch.key"
# with no node to wait for, a launch must at least survive this long (bad package, bad arguments)
EARLY_EXIT_WATCH = 1.0
SUPERVISOR_EXIT_WAIT = 5.0
# how long the supervisor may take to record that its launch ended (it is woken by the launch's end)
SUPERVISOR_NOTICE_WAIT = 1.0


def node_belongs(tag, name, pid):
    """Is PID, which answers for ROS 1 node NAME, a node process of the launch tagged TAG?

    roslaunch passes every node its name as `__name:=BASENAME`. A PID that does not exist here belongs to a
    node on another machine (roslaunch <machine> tags): it cannot be checked and counts as the launch's.
    """
    if proc.read_stat(pid) is None:
        return True
    if not proc.environ_has(pid, ("%s=%s" % (cmd.TAG_NAME, tag)).encode()):
        return False
    return "__name:=%s" % name.rsplit("/", 1)[-1] in proc.cmdline(pid)


class LaunchFailed(Exception):
    """A failure with details for the result (log tail, exit code, ...)."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


def account():
    entry = pwd.getpwuid(os.geteuid())
    return entry.pw_name, entry.pw_dir


def expand_home(path):
    if path == "~" or path.startswith("~/"):
        return account()[1] + path[1:]
    return path


class Launcher:
    """One module call. PARAMS: the module's options.

    RUN(argv, env, timeout) runs helper commands (sourcing, roslaunch --nodes, ros2 node list) with exactly
    that environment and no expansion (run.run); tests may pass another.
    """

    def __init__(self, params, check_mode=False, warn=None, run=_run.run):
        self.p = params
        self.run = run
        self.check_mode = check_mode
        self.warn = warn or (lambda _msg: None)
        self.store = StateStore(expand_home(params["state_dir"]), params["name"])
        self.user, self.home = account()

    # ============================================================================================
    # reading the current phase
    # ============================================================================================
    def inspect(self):
        """(phase, request, run) for the launch as it is now."""
        if not self.store.exists():
            return "stopped", None, None
        request = self.store.load_request()
        run = self.store.load_run()
        if request is None:
            return "stopped", None, run
        if request.get("boot_id") != proc.boot_id():
            return "stale", request, run
        launch = self._launch_record(request, run)
        if launch and proc.is_same(launch["pid"], launch["starttime"]):
            return "running", request, run
        if self._supervisor_alive(request):
            run = self._run_after_exit(request, run)
            if self._own_run(request, run).get("phase") == "restarting":
                return "restarting", request, run
        return "exited", request, run

    @staticmethod
    def _own_run(request, run):
        return run if run and run.get("tag") == request.get("tag") else {}

    def _run_after_exit(self, request, run):
        """The supervisor's record once it has noted the end of the launch (a moment after the end itself)."""
        deadline = time.monotonic() + SUPERVISOR_NOTICE_WAIT
        while self._own_run(request, run).get("phase") in ("starting", "running") and time.monotonic() < deadline:
            if not self._supervisor_alive(request):
                break
            time.sleep(0.02)
            run = self.store.load_run()
        return run

    @staticmethod
    def _supervisor_alive(request):
        supervisor = request.get("supervisor") or {}
        return proc.is_same(supervisor.get("pid"), supervisor.get("starttime"))

    @staticmethod
    def _launch_record(request, run):
        """The current launch process: the supervisor's record (it changes on restarts), else the start's."""
        if run and run.get("tag") == request.get("tag") and run.get("launch"):
            return run["launch"]
        return request.get("launch")

    def describe(self, phase, request, run, nodes=None):
        """The result fields that describe a launch (module RETURN)."""
        result = {
            "state": phase,
            "pid": None,
            "pids": [],
            "supervisor_pid": None,
            "uptime": None,
            "started_at": None,
            "exit_code": None,
            "exit_signal": None,
            "restarts": 0,
            "command": None,
            "ros_version": None,
            "nodes": [],
            "nodes_up": [],
            "nodes_missing": [],
            "log_paths": self.store.log_paths(),
            "log_tail": self.store.tail(self.p["log_lines"]),
        }
        if not request:
            return result
        result["command"] = request.get("argv")
        result["ros_version"] = request.get("ros_version")
        result["nodes"] = request.get("expected_nodes") or []
        launch = self._launch_record(request, run) or {}
        if phase in ("running", "restarting"):
            if phase == "running":
                result["pid"] = launch.get("pid")
                result["uptime"] = round(proc.uptime_of(launch["starttime"]), 1)
                result["started_at"] = launch.get("started_at")
            supervisor = request.get("supervisor") or {}
            result["supervisor_pid"] = supervisor.get("pid")
        if phase != "stale":
            # an exited launch may have left tagged processes behind (the supervisor was killed, or is ending them)
            result["pids"] = [pid for pid, _s in proc.tagged(cmd.TAG_NAME, request["tag"])]
        if run:
            result["restarts"] = run.get("restarts", 0)
            exits = run.get("exits") or []
            if exits and phase != "running":
                result["exit_code"], result["exit_signal"] = exits[-1]["code"], exits[-1]["signal"]
        if nodes is not None:
            result["nodes_up"], result["nodes_missing"] = nodes
        return result

    # ============================================================================================
    # status
    # ============================================================================================
    def status(self):
        self._refuse_legacy()
        phase, request, run = self.inspect()
        nodes = None
        if phase == "running" and request.get("expected_nodes"):
            nodes = self._nodes_up(request, request["expected_nodes"])
        return dict(self.describe(phase, request, run, nodes), changed=False)

    # ============================================================================================
    # start / restart
    # ============================================================================================
    def start(self, restart=False):
        self._refuse_legacy()
        plan = self.plan()
        if self.check_mode:
            return self._start_locked(plan, restart)
        self.store.ensure_dir()
        with self.store.lock(self.p["timeout"]):
            return self._start_locked(plan, restart)

    def _start_locked(self, plan, restart):
        phase, request, run = self.inspect()
        before = self._diff_side(phase, request)
        if phase in ("running", "restarting") and not restart:
            changes = cmd.spec_differences(request.get("spec") or {}, self._stored_spec(plan))
            if changes:
                raise LaunchFailed(
                    "launch %s is already running with other settings: %s. Use state=restarted to apply them."
                    % (self.p["name"], "; ".join(changes)),
                    changes=changes,
                    **self.describe(phase, request, run),
                )
            nodes = None
            if not self.check_mode and request.get("expected_nodes"):
                nodes = self._wait_ready(request, deadline=time.monotonic() + self.p["timeout"], rollback=False)
            return dict(
                self.describe(phase, request, run, nodes), changed=False, diff={"before": before, "after": before}
            )
        after = {"state": "running", "launch": self._public_spec(plan)}
        if self.check_mode:
            return dict(
                self.describe(phase, request, run),
                changed=True,
                state="running",
                command=plan["argv"],
                diff={"before": before, "after": after},
            )
        previous = None
        if phase in ("running", "restarting"):
            previous = self._stop_locked(request)
        elif phase in ("exited", "stale"):
            previous = self._clean_up(phase, request)
        result = self._launch(plan)
        result.update(changed=True, diff={"before": before, "after": after})
        if previous:
            result["previous"] = previous
        return result

    def plan(self):
        """Everything about the launch that can be checked before anything runs; raises on a problem."""
        p = self.p
        allowlist = Allowlist.load()
        setup_files = p["setup_files"]
        for path in setup_files:
            if not os.path.isfile(path):
                raise LaunchFailed("setup file %s does not exist on the robot" % path)
            allowlist.check_setup_file(path)
        env = cmd.check_env(p["env"])
        secret_env = cmd.check_env(p["secret_env"], what="secret_env")
        overlap = sorted(set(env) & set(secret_env))
        if overlap:
            raise LaunchFailed("%s given in both env and secret_env" % ", ".join(overlap))
        for name in list(env) + list(secret_env):
            allowlist.check_env_name(name)
        sourced = self._source(setup_files)
        ros_version = p["ros_version"] or cmd.detect_ros_version(sourced)
        if ros_version is None:
            raise LaunchFailed(
                "cannot tell whether this is ROS 1 or ROS 2 (no ROS_VERSION after sourcing %s, and %s)"
                % (
                    setup_files or "nothing",
                    "both roslaunch and ros2 are in PATH"
                    if cmd.find_executable("roslaunch", sourced.get("PATH", ""))
                    else "neither roslaunch nor ros2 is in PATH",
                )
                + "; set ros_version or setup_files"
            )
        cmd.check_target(p["package"], p["launch_file"], p["path"])
        target = (
            {"path": os.path.realpath(p["path"])}
            if p["path"]
            else {"package": p["package"], "launch_file": p["launch_file"]}
        )
        allowlist.check_launch(ros_version, p["package"], p["launch_file"], p["path"])
        arguments = cmd.check_arguments(ros_version, p["arguments"])
        network = cmd.network_env(
            ros_version,
            master_uri=p["ros_master_uri"],
            ros_ip=p["ros_ip"],
            domain_id=p["ros_domain_id"],
            static_peers=p["ros_static_peers"],
            discovery_server=p["ros_discovery_server"],
            discovery_range=p["ros_automatic_discovery_range"],
        )
        if ros_version == 2:
            warning = cmd.ros2_static_peers_warning(sourced.get("ROS_DISTRO"), p["ros_static_peers"])
            if warning:
                self.warn(warning)
        public_env = dict(sourced, **env)
        public_env.update(network)
        public_env.update({"ROS_LOG_DIR": self.store.ros_log_dir, "PYTHONUNBUFFERED": "1"})
        if ros_version == 1:
            public_env.setdefault("ROS_MASTER_URI", DEFAULT_MASTER_URI)
            argv = cmd.ros1_argv(target, arguments, p["stop_timeout"], wait_for_master=p["wait_for_master"])
        else:
            argv = cmd.ros2_argv(target, arguments)
        wait_for = cmd.global_node_names(p["wait_for"]) if p["wait_for"] is not None else None
        spec = {
            "ros_version": ros_version,
            "target": target,
            "arguments": dict(arguments),
            "env": env,
            "secret_env_names": sorted(secret_env),
            "setup_files": list(setup_files),
            "network": network,
            "wait_for_master": p["wait_for_master"],
            "restart": {
                "policy": p["restart_policy"],
                "limit": p["restart_limit"],
                "window": p["restart_window"],
                "delay": p["restart_delay"],
            },
        }
        return {
            "ros_version": ros_version,
            "target": target,
            "arguments": arguments,
            "argv": argv,
            "public_env": public_env,
            "secret_env": secret_env,
            "spec": spec,
            "wait_for": wait_for,
            "master_uri": public_env.get("ROS_MASTER_URI") if ros_version == 1 else None,
        }

    def _stored_spec(self, plan):
        """The launch spec as stored: secret values only as an HMAC under the account's key (not in the record).

        Check mode creates no key: without one, no running launch can have a digest to compare with, and a
        throwaway key makes any recorded digest count as changed.
        """
        spec = dict(plan["spec"])
        if plan["secret_env"]:
            key = secret_key(os.path.join(self.home, DIGEST_KEY_FILE), create=not self.check_mode)
            spec["secret_digest"] = cmd.secret_digest(key or uuid.uuid4().hex, plan["secret_env"])
        return spec

    @staticmethod
    def _public_spec(plan):
        return dict(plan["spec"], command=plan["argv"])

    def _diff_side(self, phase, request):
        if phase in ("running", "restarting") and request:
            spec = dict(request.get("spec") or {}, command=request.get("argv"))
            spec.pop("secret_digest", None)
            return {"state": "running", "launch": spec}
        return {"state": "stopped"}

    def _source(self, setup_files):
        """The environment after sourcing SETUP_FILES in a clean bash (nothing from the SSH session)."""
        argv = cmd.source_command(setup_files)
        rc, out, err = self.run(argv, cmd.clean_shell_env(self.home, self.user), timeout=self.p["timeout"])
        if rc != 0:
            raise LaunchFailed("sourcing the setup files failed: %s" % err.strip(), rc=rc, stderr=err, command=argv)
        return cmd.parse_env0(out)

    def _launch(self, plan):
        store = self.store
        tag = uuid.uuid4().hex
        store.rotate_log()
        request = {
            "name": self.p["name"],
            "tag": tag,
            "boot_id": proc.boot_id(),
            "ros_version": plan["ros_version"],
            "argv": plan["argv"],
            "spec": self._stored_spec(plan),
            "master_uri": plan["master_uri"],
            "expected_nodes": plan["wait_for"],
            "stop_timeout": self.p["stop_timeout"],
            "created_at": time.time(),
            "stop_requested": False,
        }
        if plan["ros_version"] == 2:
            request["graph_env"] = plan["public_env"]
        store.save_request(request)
        query_env = dict(plan["public_env"], **plan["secret_env"])
        if plan["secret_env"] and plan["ros_version"] == 1:
            query_env["ROS_PYTHON_LOG_CONFIG_FILE"] = self._write_ros1_log_config()
        env = dict(query_env, **{cmd.TAG_NAME: tag})
        policy = {
            "restart": self.p["restart_policy"],
            "restart_limit": self.p["restart_limit"],
            "restart_window": self.p["restart_window"],
            "restart_delay": self.p["restart_delay"],
            "orphan_grace": max(1.0, self.p["stop_timeout"] * 0.4),
        }
        cwd = self.home if os.path.isdir(self.home) else store.dir
        started = time.monotonic()
        try:
            processes = spawn(store, plan["argv"], env, cwd, tag, policy)
        except Exception as exc:
            store.archive({"error": str(exc)})
            raise LaunchFailed(
                "could not start the launch: %s" % exc, log_tail=store.tail(self.p["log_lines"])
            ) from exc
        request.update(processes)
        try:
            store.save_request(request)
            if request["expected_nodes"] is None and plan["ros_version"] == 1:
                request["expected_nodes"] = self._ros1_launch_nodes(plan, query_env)
                store.save_request(request)
        except StateError as exc:
            # a launch this module cannot find again must not run (a full disk, typically)
            raise LaunchFailed(
                "launch %s was stopped again because its record could not be written: %s" % (self.p["name"], exc),
                rollback=self._stop_locked(request),
                state="stopped",
                log_tail=store.tail(self.p["log_lines"]),
            ) from exc
        nodes = self._wait_ready(request, deadline=started + self.p["timeout"], rollback=True)
        phase, request, run = self.inspect()
        return dict(self.describe(phase, request, run, nodes), startup_seconds=round(time.monotonic() - started, 3))

    def _write_ros1_log_config(self):
        """The logging configuration that keeps roslaunch from writing its environment (secrets) to its log."""
        path = os.path.join(self.store.dir, cmd.ROS1_LOG_CONFIG_NAME)
        write_text(path, cmd.ROS1_LOG_CONFIG)
        return path

    def _ros1_launch_nodes(self, plan, env):
        """The nodes the launch file starts (roslaunch --nodes), resolved while the launch comes up.

        It sees what the launch sees: the same arguments, byte for byte, and the launch's environment (ENV, without
        the tag: it is not a process of the launch), which travels as its environment, never on its command line.
        """
        argv = cmd.ros1_nodes_argv(plan["target"], plan["arguments"])
        rc, out, err = self.run(argv, env, timeout=self.p["timeout"])
        if rc != 0:
            self.warn("roslaunch --nodes failed (%s); not waiting for nodes" % (err.strip() or rc))
            return []
        return sorted(line.strip() for line in out.splitlines() if line.strip().startswith("/"))

    # ============================================================================================
    # readiness
    # ============================================================================================
    @staticmethod
    def _ros1_graph(request):
        return Ros1Graph(request["master_uri"], belongs=lambda name, pid: node_belongs(request["tag"], name, pid))

    def _nodes_up(self, request, names, graph=None):
        if request["ros_version"] == 1:
            graph = graph or self._ros1_graph(request)
            return graph.nodes_up(names)
        listed = ros2_node_names(self.run, request.get("graph_env") or {}) or set()
        return [n for n in names if n in listed], [n for n in names if n not in listed]

    def _wait_ready(self, request, deadline, rollback):
        """Wait until the expected nodes are up; on failure stop the launch if ROLLBACK and raise."""
        names = request.get("expected_nodes") or []
        graph = self._ros1_graph(request) if request["ros_version"] == 1 else None
        interval = 0.1 if request["ros_version"] == 1 else 0.5
        early_exit_deadline = time.monotonic() + EARLY_EXIT_WATCH
        up, missing = [], list(names)
        while True:
            phase, request, run = self.inspect()
            if phase not in ("running", "restarting"):
                self._fail_start(request, run, rollback, "the launch ended while starting", (up, missing))
            if phase == "running":
                up, missing = self._nodes_up(request, names, graph) if names else ([], [])
                if not missing and (names or time.monotonic() >= early_exit_deadline):
                    return up, missing
            if time.monotonic() >= deadline:
                why = "nodes %s not up after %ss" % (", ".join(missing), self.p["timeout"])
                if graph is not None:
                    problem = ros1_master_problem(request["master_uri"])
                    if problem:
                        why += "; %s" % problem
                self._fail_start(request, run, rollback, why, (up, missing))
            time.sleep(interval)

    def _fail_start(self, request, run, rollback, why, nodes):
        details = self.describe(*self.inspect(), nodes=nodes)
        if rollback:
            details["rollback"] = self._stop_locked(request)
            details["state"] = "stopped"
        raise LaunchFailed("launch %s failed to start: %s" % (self.p["name"], why), **details)

    # ============================================================================================
    # stop
    # ============================================================================================
    def stop(self):
        legacy = self.store.legacy_request()
        if legacy:
            return self._stop_legacy(legacy)
        if not self.store.exists():
            return dict(self.describe("stopped", None, None), changed=False)
        if self.check_mode:
            return self._stop_check_mode()
        with self.store.lock(self.p["timeout"]):
            phase, request, run = self.inspect()
            before = self._diff_side(phase, request)
            if phase == "stopped":
                return dict(self.describe(phase, request, run), changed=False)
            if phase in ("stale", "exited"):
                summary = self._clean_up(phase, request)
                result = self.describe("stopped", None, None)
                result.update(
                    changed=bool(summary["killed"]) or (phase == "exited" and bool(summary["steps"])),
                    previous=summary,
                    exit_code=summary["exit_code"],
                    exit_signal=summary["exit_signal"],
                )
                return dict(result, diff={"before": before, "after": {"state": "stopped"}})
            summary = self._stop_locked(request)
            result = self.describe("stopped", None, None)
            result.update(
                changed=True,
                exit_code=summary["exit_code"],
                exit_signal=summary["exit_signal"],
                stop_steps=summary["steps"],
                diff={"before": before, "after": {"state": "stopped"}},
            )
            return result

    # ============================================================================================
    # launches recorded in the legacy layout (NAME.json ... in state_dir) by an earlier version
    # ============================================================================================
    def _refuse_legacy(self):
        legacy = self.store.legacy_request()
        if legacy:
            raise LaunchFailed(
                "launch %s was started by an earlier version of ros_launch, which kept its state in %s; run this task "
                "with state=stopped once: that ends the launch and removes that state (it keeps its log %s)"
                % (self.p["name"], os.path.join(self.store.dir, self.p["name"] + ".json"),
                   os.path.join(self.store.dir, self.p["name"] + ".log")),
                state="legacy",
            )  # fmt: skip

    def _stop_legacy(self, request):
        """End a launch of the legacy layout: its supervisor takes SIGTERM as a stop (it SIGINTs the launch and
        restarts nothing), then whatever still carries the tag is killed, then its records go."""
        result = self.describe("stopped", None, None)
        if self.check_mode:
            return dict(result, changed=True, diff={"before": {"state": "running"}, "after": {"state": "stopped"}})
        self.store.ensure_dir()
        with self.store.lock(self.p["timeout"]):
            steps = []
            supervisor = request.get("supervisor") or {}
            pid, started = supervisor.get("pid"), supervisor.get("starttime")
            if proc.send(pid, started, signal.SIGTERM):
                steps.append("SIGTERM to supervisor %d (legacy layout)" % pid)
                ended = proc.wait_until(lambda: not proc.is_same(pid, started), self.p["stop_timeout"])
                if not ended and proc.send(pid, started, signal.SIGKILL):
                    steps.append("SIGKILL to supervisor %d" % pid)
            killed = self._kill_tagged(request["tag"])
            steps += ["SIGKILL to %d (%s)" % (p, name) for p, name in killed]
            left = proc.tagged(cmd.TAG_NAME, request["tag"])
            if left:
                raise LaunchFailed(
                    "processes of launch %s would not end: %s" % (self.p["name"], [p for p, _s in left]), steps=steps
                )
            self.store.remove_legacy(request["tag"])
            steps.append("state of the legacy layout removed")
        return dict(
            result,
            changed=True,
            stop_steps=steps,
            previous={"phase": "legacy", "steps": steps, "killed": [p for p, _n in killed]},
            diff={"before": {"state": "running"}, "after": {"state": "stopped"}},
        )

    def _stop_check_mode(self):
        phase, request, run = self.inspect()
        would = phase in ("running", "restarting") or (
            phase == "exited" and (self._supervisor_alive(request) or bool(proc.tagged(cmd.TAG_NAME, request["tag"])))
        )
        result = self.describe(phase, request, run)
        # the state a stop would leave, as a start in check mode reports the state it would leave
        result.update(
            changed=would,
            state="stopped",
            diff={"before": self._diff_side(phase, request), "after": {"state": "stopped"}},
        )
        return result

    def _stop_locked(self, request):
        """Stop a live launch: SIGINT, SIGTERM, SIGKILL to its group, then whatever still carries its tag."""
        store = self.store
        stop_timeout = self.p["stop_timeout"]
        request["stop_requested"] = True
        steps = []
        supervisor = request.get("supervisor") or {}
        try:
            store.save_request(request)
        except StateError as exc:
            # a full disk must not keep a launch from stopping: SIGTERM tells the supervisor not to restart it
            if supervisor and proc.send(supervisor["pid"], supervisor["starttime"], signal.SIGTERM):
                steps.append("SIGTERM to supervisor %d (%s)" % (supervisor["pid"], exc))
        launch = self._launch_record(request, store.load_run())
        if launch:
            for sig, wait in (
                (signal.SIGINT, stop_timeout * 0.75),
                (signal.SIGTERM, stop_timeout * 0.15),
                (signal.SIGKILL, 1.0),
            ):
                if not proc.send_group(launch["pid"], launch["starttime"], sig):
                    break
                steps.append("%s to process group %d" % (sig.name, launch["pid"]))
                if proc.wait_until(lambda: not proc.is_same(launch["pid"], launch["starttime"]), wait):
                    break
        if not proc.wait_until(
            lambda: not proc.is_same(supervisor.get("pid"), supervisor.get("starttime")), SUPERVISOR_EXIT_WAIT
        ) and proc.send(supervisor["pid"], supervisor["starttime"], signal.SIGKILL):
            steps.append("SIGKILL to supervisor %d" % supervisor["pid"])
        killed = self._kill_tagged(request["tag"])
        steps += ["SIGKILL to %d (%s)" % (pid, name) for pid, name in killed]
        left = proc.tagged(cmd.TAG_NAME, request["tag"])
        if left:
            raise LaunchFailed(
                "processes of launch %s would not end: %s" % (self.p["name"], [pid for pid, _s in left]), steps=steps
            )
        return self._archive(steps, killed)

    def _kill_tagged(self, tag):
        killed = []
        for pid, started in proc.tagged(cmd.TAG_NAME, tag):
            name = " ".join(proc.cmdline(pid))[:80]
            if proc.send(pid, started, signal.SIGKILL):
                killed.append((pid, name))
        if killed:
            proc.wait_until(lambda: not proc.tagged(cmd.TAG_NAME, tag), 2.0)
        return killed

    def _clean_up(self, phase, request):
        """Forget a launch that no longer runs; from this boot, first end anything still carrying its tag.

        A supervisor still ending what its launch left behind is stopped as a live launch would be: it must
        not restart anything or write its record after this one is archived.
        """
        if phase == "exited" and self._supervisor_alive(request):
            summary = self._stop_locked(request)
            note = "stop requested from supervisor %d, still ending the launch" % request["supervisor"]["pid"]
            summary["steps"].insert(0, note)
        else:
            killed = self._kill_tagged(request["tag"]) if phase == "exited" else []
            summary = self._archive(["stale state from another boot removed"] if phase == "stale" else [], killed)
        summary["phase"] = phase
        return summary

    def _archive(self, steps, killed):
        run = self.store.load_run() or {}
        exits = run.get("exits") or []
        code, signame = (exits[-1]["code"], exits[-1]["signal"]) if exits else (None, None)
        problem = self.store.archive({"steps": steps})
        if problem:
            steps = [*steps, "previous run not kept: %s" % problem]
        return {"steps": steps, "killed": [pid for pid, _n in killed], "exit_code": code, "exit_signal": signame}
