"""Stand-in robots for the local lab and the ros_launch tests (root required).

A robot here is a Linux network namespace with its own address (a veth pair to the host), its own sshd
(own host key, own config) and its own ROS 1 master. What it is NOT: a separate machine. Robots share the
host's filesystem, users and PID namespace, so each robot gets its own directory, its own launch account
(named after it) and its own state directory through inventory variables, and its own /etc/roverlab (the
robot's sshd sees /etc/netns/NAME/roverlab there, see netns.py); see docs/ros_launch.md.

    from lablib import RobotLab
    lab = RobotLab(base_dir, prefix="rlt1234", subnet_base="10.202")
    lab.create(3)                  # namespaces, sshd, roscore; writes base_dir/lab.json
    lab.inventory()                # what an Ansible inventory needs
    lab.destroy()                  # every process in the namespaces, the namespaces, the accounts

The command line (python3 -m lablib up|down|status|inventory) drives the same class; see __main__.py.
"""

from .lab import Robot, RobotLab, free_subnet_base

__all__ = ["Robot", "RobotLab", "free_subnet_base"]
