"""ros_launch on robots addressed by their tailnet names, and a robot that is off the tailnet.

Ansible reaches the robots through the controller's tailscaled (userspace networking) with `tailscale nc` as SSH's
ProxyCommand; the robots' direct route is closed (conftest.block_direct_route), so the ros_robot role, the launch and
the check all go over the tailnet. The launched talker advertises the robot's tailnet address (ROS_IP from the
robot's environment file), and the desktop receives its messages.
"""

import json
import re
import time

import pytest
from conftest import REPO, ansible_env, run_playbook, wait_for

LAUNCH_PLAYBOOK = REPO / "playbooks" / "ros_launch.yml"
TALKER = {"ros_launch_package": "roverlab_demo", "ros_launch_file": "talker.launch"}


@pytest.fixture(scope="module")
def tailnet_inventory(base_dir, robots, tailnet):
    """Both robots by tailnet name (MagicDNS), with known host keys for those names; written as JSON."""
    info = tailnet.inventory()["tailnet"]
    known_hosts = base_dir / "tailnet_known_hosts"
    lines = []
    hosts = {}
    for robot in robots.robots:
        ip = tailnet.robots[robot.name]["ip"]
        name = "%s.%s" % (robot.name, info["base_domain"])
        lines.append("%s,%s %s" % (name, ip, robot.host_key))
        host = robots.host_vars(robot, "root")
        host["ansible_host"] = name
        host["ansible_ssh_common_args"] = (
            "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o ProxyCommand='%s'"
            % (known_hosts, info["proxy_command"])
        )
        host["ros_robot_env"] = dict(host["ros_robot_env"], ROS_MASTER_URI="http://%s:11311" % ip, ROS_IP=ip)
        hosts[robot.name] = host
    known_hosts.write_text("\n".join(lines) + "\n")
    inventory = {
        "robots": {
            "hosts": hosts,
            "vars": {"ros_launch_tailnet_status_command": [*info["status_command"], "status", "--json"]},
        }
    }
    path = base_dir / "tailnet_inventory.json"
    path.write_text(json.dumps(inventory, indent=1))
    return path


def launch(inventory, base_dir, robot_names, state="started", **variables):
    extra = dict(TALKER, ros_launch_name="tailnet_talker", ros_launch_state=state, **variables)
    env = ansible_env(ANSIBLE_SSH_CONTROL_PATH_DIR=str(base_dir / "cp"), ANSIBLE_LOCAL_TEMP=str(base_dir / "tmp"))
    began = time.monotonic()
    rc, output, _ = run_playbook(LAUNCH_PLAYBOOK, extra, "--limit", ",".join(robot_names), inventory=inventory, env=env)
    return rc, output, time.monotonic() - began


@pytest.fixture(scope="module")
def prepared(tailnet_inventory, base_dir, direct_route_blocked):
    """The ros_robot role on both robots, over the tailnet."""
    prepare = base_dir / "prepare.yml"
    prepare.write_text(
        "- name: Prepare the robots\n  hosts: robots\n  gather_facts: false\n"
        "  roles:\n    - role: roverlab.clouddesktop.ros_robot\n"
    )
    env = ansible_env(ANSIBLE_SSH_CONTROL_PATH_DIR=str(base_dir / "cp"), ANSIBLE_LOCAL_TEMP=str(base_dir / "tmp"))
    rc, output, _ = run_playbook(prepare, {}, inventory=tailnet_inventory, env=env)
    assert rc == 0, output[-5000:]
    return tailnet_inventory


def test_ros_launch_starts_a_launch_on_a_robot_named_by_its_tailnet_name(prepared, base_dir, robots, tailnet, desktop):
    robot = robots.robots[0]
    rc, output, _ = launch(prepared, base_dir, [robot.name])
    try:
        assert rc == 0, output[-5000:]
        assert re.search(r"%s\s+running" % re.escape(robot.name), output), output[-3000:]
        ip = tailnet.robots[robot.name]["ip"]
        echoed = desktop.exec(
            "timeout 90 rostopic echo -n 1 /chatter", env={"ROS_MASTER_URI": "http://%s:11311" % ip}, timeout=180
        )
        assert "data:" in echoed.stdout, echoed.stdout + echoed.stderr
    finally:
        launch(prepared, base_dir, [robot.name], state="stopped")


def test_ros_launch_fails_fast_naming_a_robot_that_is_off_the_tailnet(prepared, base_dir, robots, tailnet):
    online, offline = robots.robots[0], robots.robots[1]
    tailnet.leave(offline.name)
    try:
        # headscale tells the controller's tailscaled that the robot went offline
        status = tailnet.controller_node()
        wait_for(
            lambda: (
                not any(
                    p.get("Online") and p.get("HostName") == offline.name
                    for p in (status.status(tailnet.program("tailscale")).get("Peer") or {}).values()
                )
            ),
            timeout=60,
            what="the controller to see %s offline" % offline.name,
        )
        rc, output, seconds = launch(prepared, base_dir, [online.name, offline.name], state="status")
        assert rc != 0, output[-3000:]
        assert re.search(r"%s is off the tailnet: its node %s\S* \(100\." % (offline.name, offline.name), output), (
            output[-4000:]
        )
        # the robot on the tailnet was still served, and the one off it cost no SSH timeout
        assert re.search(r"%s\s+(stopped|running|exited|absent)" % re.escape(online.name), output), output[-3000:]
        assert "UNREACHABLE" not in output, output[-3000:]
        print("ros_launch with one robot off the tailnet: %.1f s" % seconds)
    finally:
        tailnet.join(offline.name)
