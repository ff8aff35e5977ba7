"""A robot's ROS 1 master: roscore inside the robot's namespace, on the robot's own address."""

import os
import subprocess
import time
import xmlrpc.client

# Environment key that marks every process of a robot's roscore (rosmaster and rosout start in
# sessions of their own, so their process group does not reach them; the mark does).
MARK = "ROVERLAB_LAB_ROBOT"


def master_uri(address, port=11311):
    return "http://%s:%d" % (address, port)


def master_answers(uri):
    try:
        code, _msg, _pid = xmlrpc.client.ServerProxy(uri).getPid("/lablib")
    except (OSError, xmlrpc.client.Error):
        return False
    return code == 1


def start(netns, address, ros_home, log_file, timeout=30.0):
    """Start roscore detached (own session, fds redirected); return its PID once the master answers."""
    os.makedirs(ros_home, exist_ok=True)
    uri = master_uri(address)
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": ros_home,
        "LANG": "C.UTF-8",
        "ROS_MASTER_URI": uri,
        "ROS_IP": address,
        "ROS_HOME": ros_home,
        "PYTHONUNBUFFERED": "1",
        MARK: netns,
    }
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, "roscore", "-p", "11311"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("roscore in %s exited with %s; see %s" % (netns, proc.returncode, log_file))
        if master_answers(uri):
            return proc.pid
        time.sleep(0.1)
    raise RuntimeError("the ROS master at %s did not answer within %ss; see %s" % (uri, timeout, log_file))
