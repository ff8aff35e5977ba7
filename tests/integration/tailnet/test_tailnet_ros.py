"""ROS 1 from a Docker-host desktop to a lab robot over the tailnet only (issue 11's acceptance test).

The desktop is the collection's image, run by the desktop_docker playbook with its key from headscale's API; the
robot is a STAND-IN robot (a network namespace) with real ROS 1 and tailscaled on a TUN device. Every packet the
host would forward from the desktop to the robot is dropped in the robot's namespace, so what arrives came through
the tailnet (headscale's DERP relay): the test checks both that the direct path is closed and that the messages
arrive.
"""

import os
import subprocess
import time

from conftest import CONTAINER, Publisher, wait_for


def test_the_direct_route_from_the_desktop_to_the_robot_is_closed(robots, desktop, direct_route_blocked):
    robot = robots.robots[0]
    direct = desktop.exec("timeout 5 bash -c '</dev/tcp/%s/11311'" % robot.address, check=False)
    assert direct.returncode != 0, "the desktop still reaches the robot's master at %s directly" % robot.address


def test_desktop_receives_a_message_published_on_a_robot_over_the_tailnet_only(desktop, tailnet_path):
    robot, robot_ip = tailnet_path
    text = "hello over the tailnet %d" % os.getpid()
    publisher = Publisher(robot, robot_ip, "/tailnet_chatter", text)
    try:
        uri = "http://%s:11311" % robot_ip
        listed = desktop.exec(
            "for i in $(seq 30); do timeout 20 rostopic list 2>/dev/null | grep -qx /tailnet_chatter && break; sleep 1;"
            " done; rostopic list",
            env={"ROS_MASTER_URI": uri},
            timeout=180,
        )
        assert "/tailnet_chatter" in listed.stdout.split(), listed.stdout + listed.stderr
        echoed = desktop.exec(
            "timeout 90 rostopic echo -n 1 /tailnet_chatter", env={"ROS_MASTER_URI": uri}, timeout=180
        )
        assert text in echoed.stdout, echoed.stdout + echoed.stderr
    finally:
        publisher.stop()
    # the path was the DERP relay, not a direct one
    pong = desktop.tailscale("ping", "--c=1", "--timeout=10s", robot_ip, check=False)
    assert "via DERP(" in pong.stdout, pong.stdout + pong.stderr


def test_the_robots_master_calls_the_desktop_back_at_its_tailnet_address(desktop, tailnet_path):
    """The subscriber starts first: the message arrives only when the master's publisherUpdate reaches the desktop
    (at ROS_IP, which login shells take from the desktop's tailnet address) and the desktop then reaches the
    publisher."""
    robot, robot_ip = tailnet_path
    assert desktop.exec("echo $ROS_IP").stdout.strip() == desktop.address
    topic = "/tailnet_callback_%d" % os.getpid()
    uri = "http://%s:11311" % robot_ip
    # rospy's wait_for_message subscribes at once (rostopic echo would wait for a publisher first)
    listen = (
        "import rospy; from std_msgs.msg import String; rospy.init_node('tailnet_callback', anonymous=True); "
        "print(rospy.wait_for_message('%s', String, timeout=140).data)" % topic
    )
    echo = subprocess.Popen(
        ["docker", "exec", "-u", "1000", "-e", "ROS_MASTER_URI=%s" % uri, CONTAINER, "bash", "-lc",
         "python3 -c \"%s\"" % listen],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    publisher = None
    try:
        # the subscriber is registered with the robot's master before anything publishes
        wait_for(
            lambda: topic in desktop.exec("timeout 20 rostopic list", env={"ROS_MASTER_URI": uri}, check=False).stdout,
            timeout=90,
            interval=2,
            what="the desktop's subscriber to register",
        )
        publisher = Publisher(robot, robot_ip, topic, "called back")
        output = echo.communicate(timeout=170)[0]
        assert "called back" in output, output
    finally:
        if publisher:
            publisher.stop()
        if echo.poll() is None:
            echo.kill()
            echo.wait()


def test_the_desktop_reaches_the_robots_master_by_its_tailnet_name(tailnet, desktop, tailnet_path):
    robot, robot_ip = tailnet_path
    name = "%s.%s" % (robot.name, tailnet.server().base_domain)
    resolved = desktop.exec("getent hosts %s" % name)
    assert resolved.stdout.split()[0] == robot_ip
    publisher = Publisher(robot, robot_ip, "/tailnet_named", "by name")
    try:
        began = time.monotonic()
        echoed = desktop.exec(
            "timeout 90 rostopic echo -n 1 /tailnet_named",
            env={"ROS_MASTER_URI": "http://%s:11311" % name},
            timeout=180,
        )
        assert "by name" in echoed.stdout, (time.monotonic() - began, echoed.stdout + echoed.stderr)
    finally:
        publisher.stop()
