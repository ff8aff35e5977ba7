#!/usr/bin/python
# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: ros_launch
short_description: Start, stop, restart or inspect a ROS launch on a robot, detached from the SSH session
version_added: 0.1.0
description:
  - Runs C(roslaunch) (ROS 1) or C(ros2 launch) (ROS 2) on the robot this task targets, under a small
    detached supervisor, so that the launch keeps running after Ansible's SSH session ends.
  - The supervisor starts a session of its own (C(setsid)), adopts the launch's orphans as a child
    subreaper, and sends its output to a log file. Every process of the launch carries a tag in its
    environment, so that nodes orphaned by a crash are found and ended, even after the supervisor is gone.
  - State is kept per launch O(name) in O(state_dir) as JSON, with process IDs, their C(/proc) start
    times (a reused PID is never taken for the launch) and the boot ID (state from before a reboot is
    recognised and cleaned up).
  - O(state=started) is idempotent; a launch that runs with other settings is an error unless
    O(state=restarted) is asked for. Calls for the same O(name) are serialised by a file lock.
  - Only launches, setup files and environment variables that the robot's allowlist
    C(/etc/roverlab/ros_launch/allowlist.json) names may be used; the path is fixed, so that the robot, not the
    task, decides which file counts.
  - The robot's clock is compared with the controller's before a launch when O(max_clock_skew) is set;
    the action plugin of the same name measures it from the controller.
  - Runs on the robot with the robot's Python (3.8 or later); it needs nothing beyond the standard library.
author:
  - Rover Lab infrastructure team (@roverlab)
options:
  name:
    description:
      - Name of the launch on this robot; state, lock and logs are kept under it.
      - 1-64 letters, digits, V(_), V(.) or V(-), starting with a letter or digit.
    type: str
    required: true
  state:
    description:
      - V(started) starts the launch unless it already runs with the same settings, then waits until its
        nodes are up (O(wait_for)).
      - V(stopped) stops it (SIGINT, then SIGTERM, then SIGKILL within O(stop_timeout), then anything
        still carrying its tag).
      - V(restarted) stops it if it runs and starts it again, applying changed settings.
      - V(status) changes nothing and reports the launch.
    type: str
    choices: [started, stopped, restarted, status]
    default: started
  ros_version:
    description:
      - V(1) (C(roslaunch)) or V(2) (C(ros2 launch)).
      - By default it is read from E(ROS_VERSION) after sourcing O(setup_files), else from which of
        C(roslaunch) and C(ros2) is in E(PATH).
    type: int
    choices: [1, 2]
  package:
    description:
      - The ROS package that holds O(launch_file). Use with O(launch_file), or use O(path).
    type: str
  launch_file:
    description:
      - File name of the launch file in O(package), for example V(bringup.launch) or V(robot.launch.py).
    type: str
  path:
    description:
      - Absolute path of a launch file on the robot, instead of O(package) and O(launch_file).
      - Symbolic links are resolved before the allowlist is consulted and the launch is started.
    type: path
  arguments:
    description:
      - Launch arguments, passed as C(name:=value). Booleans become V(true)/V(false).
      - Each argument is one element of the command, never parsed by a shell, so quotes, V(;), V($VAR) or
        backticks reach the launch as written.
      - With ROS 1, values that roslaunch would silently drop or change are refused before anything starts
        (line breaks, V(:=), leading or trailing blanks, empty values, and V($() which roslaunch reads as a
        substitution arg), and so are names that start with V(_) (roslaunch drops V(_name:=) and reads
        V(__master:=), V(__ip:=), ... as its own settings).
      - Values show in the robot's process list; put secrets in O(secret_env), never here.
    type: dict
    default: {}
  env:
    description:
      - Environment variables for the launch, set after sourcing O(setup_files).
      - Only these names may be set (the rule fails closed) - the ROS network variables E(ROS_MASTER_URI),
        E(ROS_IP), E(ROS_HOSTNAME), E(ROS_NAMESPACE), E(ROS_DOMAIN_ID), E(ROS_LOCALHOST_ONLY),
        E(ROS_AUTOMATIC_DISCOVERY_RANGE), E(ROS_STATIC_PEERS) and E(ROS_DISCOVERY_SERVER), and the names the robot's
        allowlist lists in C(env_names) (exact names, or shell-style patterns such as V(TURTLEBOT3_*)).
      - A pattern never allows a variable of the families that decide which code runs (E(LD_*), E(PYTHON*),
        E(OPENSSL_*), E(ROS_*) such as E(ROS_PACKAGE_PATH) or E(ROS_PYTHON_LOG_CONFIG_FILE), E(ROSCONSOLE_*),
        E(AMENT_*), anything with E(PATH) in its name, ...); only its exact name in C(env_names) does.
    type: dict
    default: {}
  secret_env:
    description:
      - Like O(env) (the same names may be set), for values that must not be shown. They never appear in results,
        logs or the state file (only a keyed digest is kept, to notice a change).
    type: dict
    default: {}
  setup_files:
    description:
      - Shell scripts sourced, in order, in a clean C(bash --noprofile --norc) before the launch, for example
        V(/opt/ros/noetic/setup.bash) and a workspace's C(devel/setup.bash) or C(install/setup.bash).
      - Nothing else of the login environment is used (no C(.bashrc), no C(.profile), no SSH session variables).
      - Each file must be allowed by the robot's allowlist (C(setup_files)).
      - Debian's own ROS 1 packages need none; the ros_robot role's environment file is the usual choice.
    type: list
    elements: path
    default: []
  ros_master_uri:
    description:
      - ROS 1 E(ROS_MASTER_URI); overrides the value from O(setup_files). Default V(http://localhost:11311).
    type: str
  ros_ip:
    description:
      - ROS 1 E(ROS_IP), the address the robot's nodes advertise (its Tailscale address, for example).
    type: str
  ros_domain_id:
    description:
      - ROS 2 E(ROS_DOMAIN_ID).
    type: int
  ros_static_peers:
    description:
      - ROS 2 E(ROS_STATIC_PEERS) (Iron and newer), for networks without multicast such as Tailscale.
      - Combine with O(ros_automatic_discovery_range=localhost) or V(off) to use only these peers.
    type: list
    elements: str
  ros_automatic_discovery_range:
    description:
      - ROS 2 E(ROS_AUTOMATIC_DISCOVERY_RANGE) (Iron and newer).
    type: str
    choices: [subnet, localhost, 'off', system_default]
  ros_discovery_server:
    description:
      - ROS 2 E(ROS_DISCOVERY_SERVER) for Fast DDS, for example V(100.64.0.1:11811), where multicast is not available.
    type: str
  wait_for:
    description:
      - Nodes that must be up before the launch counts as started, for example V([/talker]).
      - By default, ROS 1 waits for every node the launch file starts (C(roslaunch --nodes)); ROS 2 waits
        for none. V([]) waits for none; the launch then only has to survive its first second.
      - A ROS 1 node is up when the master lists it and the node answers; a ROS 2 node when
        C(ros2 node list) shows it.
    type: list
    elements: str
  wait_for_master:
    description:
      - ROS 1 only. Wait for a running master (C(roslaunch --wait)) instead of letting roslaunch start one.
    type: bool
    default: true
  max_clock_skew:
    description:
      - Refuse to start when the robot's clock differs from the controller's by more than this many seconds
        (time skew breaks TF). The offset is measured from the controller by the action plugin, and the
        measurement's uncertainty (half the round trip) is reported with it.
      - Not checked when omitted.
    type: float
  timeout:
    description:
      - Seconds to wait for O(wait_for) after a start (and for another call's lock). A launch whose nodes are
        not up in time is stopped again and the task fails with the end of its log.
      - More than 0, like every duration of this module.
    type: float
    default: 30
  stop_timeout:
    description:
      - Seconds a stop may take before SIGKILL. roslaunch gets 40% of it per node for SIGINT and 20% for
        SIGTERM (C(--sigint-timeout), C(--sigterm-timeout); both exist in Noetic and in Debian's ros_comm 1.15.15.
        A roslaunch without them stops at once, and the start fails with its usage message in RV(log_tail)).
    type: float
    default: 15
  restart_policy:
    description:
      - V(on-failure) starts the launch again when it ends with a non-zero exit code or a signal (a stop
        by this module does not count), up to O(restart_limit) times within O(restart_window) seconds.
      - Failures of single nodes are roslaunch's business (C(respawn), C(required) in the launch file).
    type: str
    choices: [never, on-failure]
    default: never
  restart_limit:
    description: Most restarts within O(restart_window) seconds; not negative.
    type: int
    default: 5
  restart_window:
    description: Seconds over which O(restart_limit) counts restarts; more than 0.
    type: float
    default: 300
  restart_delay:
    description: Seconds between the end of a failed launch and its restart; more than 0.
    type: float
    default: 2
  log_lines:
    description: Number of lines of the launch's output returned in RV(log_tail).
    type: int
    default: 20
  state_dir:
    description:
      - Directory for state and logs of the account that runs the launch; V(~) is that account's home. Each launch
        has a directory of its own in it, C(launches/NAME/).
      - Created with mode 0700 when missing; an existing one must belong to the account and have mode 0700, for
        every O(state) (a record planted by someone else could name any process of the account, and records and
        logs are not for others to read). Another mode is refused, not changed.
      - A launch recorded by an earlier version of this module (C(NAME.json) directly in this directory) is only
        stopped (O(state=stopped) ends it and removes that record); other states are refused until then.
    type: str
    default: ~/.ros/roverlab_launch
  allowlist:
    description:
      - Removed. Giving it fails the task, because the caller would choose which file counts as the robot's
        allowlist. The robot decides - the allowlist is always C(/etc/roverlab/ros_launch/allowlist.json) on the
        robot (written by the P(roverlab.clouddesktop.ros_robot#role) role). It names the launches (package and
        launch file patterns, or path patterns), the O(setup_files) and the O(env) names that may be used.
      - It must be owned by root and writable only by root, in directories with the same properties; without it
        nothing may be started. O(state=stopped) and O(state=status) do not need it.
    type: path
attributes:
  check_mode:
    support: full
    description: Reports what a start or stop would do (with the exact command) without doing it.
  diff_mode:
    support: full
    description: Shows the launch's state and settings before and after.
  idempotent:
    support: full
    description: A running launch with the same settings is left alone; stopping a stopped launch changes nothing.
notes:
  - Run it as the account that should own the launch (C(become_user)); the launch runs with that account's
    rights. Stopping requires the same account (or root).
  - The module does not manage the ROS 1 master; keep C(roscore) running as a service (or set O(wait_for_master=false)).
  - Do not use C(async) with this module; the launch is detached by the supervisor already.
seealso:
  - name: ros_launch guide
    description: Design, security model and examples for ROS 1 and ROS 2.
    link: https://github.com/roverlab/clouddesktop/blob/main/docs/ros_launch.md
"""

EXAMPLES = r"""
- name: Start the TurtleBot3 bringup on every robot (ROS 1 Noetic)
  roverlab.clouddesktop.ros_launch:
    name: bringup
    package: turtlebot3_bringup
    launch_file: turtlebot3_robot.launch
    setup_files:
      - /opt/ros/noetic/setup.bash
      - /home/ros/catkin_ws/devel/setup.bash
    ros_master_uri: "http://{{ ansible_host }}:11311"
    ros_ip: "{{ ansible_host }}"
    env:
      TURTLEBOT3_MODEL: burger
    wait_for: [/turtlebot3_core, /turtlebot3_lds]
    max_clock_skew: 0.2
    restart_policy: on-failure
  become: true
  become_user: ros

- name: Start a ROS 2 launch over Tailscale (no multicast) with static peers
  roverlab.clouddesktop.ros_launch:
    name: nav
    package: nav2_bringup
    launch_file: navigation_launch.py
    arguments:
      use_sim_time: false
    setup_files: [/opt/ros/jazzy/setup.bash]
    ros_domain_id: 7
    ros_automatic_discovery_range: localhost
    ros_static_peers: "{{ groups['desktops'] | map('extract', hostvars, 'tailscale_ip') | list }}"
    wait_for: [/controller_server, /planner_server]

- name: Report a launch
  roverlab.clouddesktop.ros_launch:
    name: bringup
    state: status
    log_lines: 50
  register: bringup

- name: Stop it
  roverlab.clouddesktop.ros_launch:
    name: bringup
    state: stopped
    stop_timeout: 10
"""

RETURN = r"""
state:
  description:
    - The launch's phase after the task; see the module description of O(state).
    - V(running), V(restarting) (the supervisor waits to start it again), V(exited) (it ended; see
      RV(exit_code)), V(stale) (its record is from another boot) or V(stopped).
  returned: always
  type: str
  sample: running
pid:
  description: PID of the launch process (C(roslaunch) or C(ros2 launch)) while it runs.
  returned: always
  type: int
  sample: 48211
pids:
  description:
    - PIDs of every process of the launch (all carry its tag), the launch process and nodes included.
    - For an V(exited) launch, the processes it left behind that still run (a stop ends them).
  returned: always
  type: list
  elements: int
  sample: [48211, 48230, 48235]
supervisor_pid:
  description: PID of the supervisor while the launch runs.
  returned: always
  type: int
  sample: 48209
uptime:
  description: Seconds since the launch process started.
  returned: always
  type: float
  sample: 12.4
started_at:
  description: Unix time at which the launch process started.
  returned: always
  type: float
  sample: 1795430000.5
exit_code:
  description: Exit code of the launch after it ended; negative when it was ended by a signal (-9 for SIGKILL).
  returned: always
  type: int
  sample: 0
exit_signal:
  description: Name of the signal that ended the launch, if any.
  returned: always
  type: str
  sample: SIGKILL
restarts:
  description: How often the supervisor restarted the launch (O(restart_policy)).
  returned: always
  type: int
  sample: 0
command:
  description: The launch command as run (no shell involved).
  returned: always
  type: list
  elements: str
  sample: [roslaunch, --wait, --skip-log-check, --sigint-timeout=6, --sigterm-timeout=3, demo, talker.launch, "rate:=5"]
ros_version:
  description: ROS version of the launch.
  returned: always
  type: int
  sample: 1
nodes:
  description: Nodes the launch waits for (O(wait_for), or the launch file's nodes for ROS 1).
  returned: always
  type: list
  elements: str
  sample: [/talker]
nodes_up:
  description: Those of RV(nodes) that are up.
  returned: always
  type: list
  elements: str
  sample: [/talker]
nodes_missing:
  description: Those of RV(nodes) that are not up.
  returned: always
  type: list
  elements: str
  sample: []
log_tail:
  description: Last O(log_lines) lines of the launch's output (terminal escape sequences removed).
  returned: always
  type: list
  elements: str
  sample: ["process[talker-1]: started with pid [48230]"]
log_paths:
  description: Where the launch's logs and state are on the robot.
  returned: always
  type: dict
  contains:
    output:
      description: stdout and stderr of the launch and the supervisor's notes.
      type: str
      sample: /home/ros/.ros/roverlab_launch/launches/bringup/output.log
    previous_output:
      description: The output file of the previous run.
      type: str
      sample: /home/ros/.ros/roverlab_launch/launches/bringup/output.log.1
    ros_log_dir:
      description: E(ROS_LOG_DIR) of the launch (roslaunch's and the nodes' own log files).
      type: str
      sample: /home/ros/.ros/roverlab_launch/launches/bringup/ros_log
    state:
      description: The launch's state file.
      type: str
      sample: /home/ros/.ros/roverlab_launch/launches/bringup/launch.json
startup_seconds:
  description: Seconds from starting the launch until its nodes were up.
  returned: when the task started the launch
  type: float
  sample: 1.21
stop_steps:
  description: What a stop did, in order (signals sent to the process group, processes killed by tag).
  returned: when the task stopped a running launch
  type: list
  elements: str
  sample: [SIGINT to process group 48211]
previous:
  description: What happened to an earlier run replaced by this task (stopped, or cleaned up after a crash or a reboot).
  returned: when there was one
  type: dict
  sample:
    steps: [stale state from another boot removed]
    killed: []
    exit_code: null
    exit_signal: null
    phase: stale
changes:
  description: Settings that differ from those of the running launch (the task then fails unless O(state=restarted)).
  returned: on failure because of changed settings
  type: list
  elements: str
  sample: ["arguments.rate: '10' -> '2'"]
clock_skew:
  description: The robot's clock minus the controller's, measured by the action plugin.
  returned: when O(max_clock_skew) is set and a start was asked for
  type: dict
  contains:
    offset:
      description: Seconds the robot's clock is ahead of the controller's (negative when behind).
      type: float
      sample: 0.003
    uncertainty:
      description: Half the round trip of the best of the measurements, in seconds.
      type: float
      sample: 0.004
"""

import math

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.allowlist import (
    ROBOT_ALLOWLIST,
    AllowlistError,
)
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.command import CommandError
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.lifecycle import Launcher, LaunchFailed
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.state import StateError
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.supervisor import SupervisorError


def argument_spec():
    return {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "started", "choices": ["started", "stopped", "restarted", "status"]},
        "ros_version": {"type": "int", "choices": [1, 2]},
        "package": {"type": "str"},
        "launch_file": {"type": "str"},
        "path": {"type": "path"},
        "arguments": {"type": "dict", "default": {}},
        "env": {"type": "dict", "default": {}},
        "secret_env": {"type": "dict", "default": {}, "no_log": True},
        "setup_files": {"type": "list", "elements": "path", "default": []},
        "ros_master_uri": {"type": "str"},
        "ros_ip": {"type": "str"},
        "ros_domain_id": {"type": "int"},
        "ros_static_peers": {"type": "list", "elements": "str"},
        "ros_automatic_discovery_range": {"type": "str", "choices": ["subnet", "localhost", "off", "system_default"]},
        "ros_discovery_server": {"type": "str"},
        "wait_for": {"type": "list", "elements": "str"},
        "wait_for_master": {"type": "bool", "default": True},
        "max_clock_skew": {"type": "float"},
        "timeout": {"type": "float", "default": 30},
        "stop_timeout": {"type": "float", "default": 15},
        "restart_policy": {"type": "str", "default": "never", "choices": ["never", "on-failure"]},
        "restart_limit": {"type": "int", "default": 5},
        "restart_window": {"type": "float", "default": 300},
        "restart_delay": {"type": "float", "default": 2},
        "log_lines": {"type": "int", "default": 20},
        "state_dir": {"type": "str", "default": "~/.ros/roverlab_launch"},
        # removed (the robot decides where its allowlist is); kept only to refuse it with a clear message
        "allowlist": {"type": "path"},
    }


# options that must be more than zero, and options that must not be negative (all must be finite)
POSITIVE_OPTIONS = ("timeout", "stop_timeout", "restart_delay", "restart_window")
NOT_NEGATIVE_OPTIONS = ("restart_limit", "log_lines", "max_clock_skew")


def number_problems(params):
    """Why numeric options cannot be used as given ([] when they can)."""
    problems = []
    for name in POSITIVE_OPTIONS + NOT_NEGATIVE_OPTIONS:
        value = params.get(name)
        if value is None:
            continue
        if not math.isfinite(value):
            problems.append("%s must be a finite number, not %s" % (name, value))
        elif name in POSITIVE_OPTIONS and value <= 0:
            problems.append("%s must be more than 0 seconds, not %s" % (name, value))
        elif value < 0:
            problems.append("%s must not be negative, not %s" % (name, value))
    return problems


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("path", "package"), ("path", "launch_file")],
        required_together=[("package", "launch_file")],
        required_if=[
            ("state", "started", ("package", "path"), True),
            ("state", "restarted", ("package", "path"), True),
        ],
        supports_check_mode=True,
    )
    state = module.params["state"]
    problems = number_problems(module.params)
    if module.params["allowlist"] is not None:
        problems.append(
            "allowlist is no longer an option: the robot decides which allowlist counts, and it is always %s on the"
            " robot (ros_robot writes it); remove allowlist from the task" % ROBOT_ALLOWLIST
        )
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        # helper commands run through run.run, not module.run_command: no $VAR or ~ expansion, no env on argv
        launcher = Launcher(module.params, check_mode=module.check_mode, warn=module.warn)
        if state == "status":
            result = launcher.status()
        elif state == "stopped":
            result = launcher.stop()
        else:
            result = launcher.start(restart=state == "restarted")
    except LaunchFailed as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except (AllowlistError, CommandError, StateError, SupervisorError) as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
