# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which ROS nodes are up: the ROS 1 master's XML-RPC API, or `ros2 node list` for ROS 2.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

A ROS 1 node counts as up when the master knows it, the node itself answers getPid (the master keeps the
registration of a node that was killed), and the answering process belongs to the launch (the URI of a
dead node may meanwhile be served by another process, and another launch may run a node of that name).
"""

import socket
import xmlrpc.client

CALLER_ID = "/roverlab_ros_launch"


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


def _proxy(uri, timeout):
    return xmlrpc.client.ServerProxy(uri, transport=_TimeoutTransport(timeout))


def _call(uri, method, *args, timeout=2.0):
    """(code, value) of a ROS XML-RPC call; (None, error text) when the endpoint does not answer."""
    try:
        code, _status, value = getattr(_proxy(uri, timeout), method)(CALLER_ID, *args)
    except (OSError, socket.timeout, xmlrpc.client.Error, ValueError) as exc:
        return None, str(exc)
    return code, value


def ros1_master_problem(master_uri, timeout=2.0):
    """None when the master at MASTER_URI answers, otherwise why not."""
    code, value = _call(master_uri, "getPid", timeout=timeout)
    if code == 1:
        return None
    return "the ROS master at %s does not answer (%s)" % (master_uri, value)


class Ros1Graph:
    """Asks one master about nodes; remembers which nodes already answered.

    BELONGS(name, pid) tells whether the process answering for node NAME is one of the launch's own.
    """

    def __init__(self, master_uri, belongs=None, timeout=2.0):
        self.master_uri = master_uri
        self.belongs = belongs or (lambda _name, _pid: True)
        self.timeout = timeout
        self.pids = {}

    def node_pid(self, name):
        code, uri = _call(self.master_uri, "lookupNode", name, timeout=self.timeout)
        if code != 1:
            return None
        code, pid = _call(uri, "getPid", timeout=self.timeout)
        return pid if code == 1 else None

    def nodes_up(self, names):
        """(up, missing) among NAMES: registered at the master (lookupNode) and answering themselves (getPid).

        Two small calls per node and poll, not the master's whole graph (getSystemState): a start on many robots
        polls every robot's master ten times a second, on CPUs the launches need too.
        """
        up, missing = [], []
        for name in names:
            pid = self.node_pid(name)
            if pid is None or not self.belongs(name, pid):
                self.pids.pop(name, None)
                missing.append(name)
            else:
                self.pids[name] = pid
                up.append(name)
        return up, missing


def ros2_node_names(run, env, timeout=10.0):
    """Node names from `ros2 node list` run with exactly ENV, or None when the command fails.

    RUN(argv, env, timeout) -> (rc, out, err): the environment travels as the process's environment, not on
    its command line.
    """
    rc, out, _err = run(["ros2", "node", "list"], env, timeout=timeout)
    if rc != 0:
        return None
    return {line.strip() for line in out.splitlines() if line.strip().startswith("/")}
