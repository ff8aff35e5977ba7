"""Is a ROS 1 node up? Against a STAND-IN master and node slaves (xmlrpc.server in threads, ROS 1's API).

The real master is used by tests/integration/ros; here the cases that are hard to stage with real nodes:
a registration left behind by a killed node, a node URI answered by another process, a silent master.
"""

import os
import subprocess
import sys
import threading
from xmlrpc.server import SimpleXMLRPCServer

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import process as proc
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.command import TAG_NAME
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.graph import Ros1Graph, ros1_master_problem
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.lifecycle import node_belongs


def serve(functions):
    server = SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
    for name, function in functions.items():
        server.register_function(function, name)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d/" % server.server_address[1]


@pytest.fixture
def graph():
    """A master that knows /talker (alive, pid 4242), /ghost (killed: its URI answers nothing)."""
    servers = []
    slave, slave_uri = serve({"getPid": lambda caller: (1, "", 4242)})
    servers.append(slave)
    nodes = {"/talker": slave_uri, "/ghost": "http://127.0.0.1:9/"}
    master, master_uri = serve(
        {
            "lookupNode": lambda caller, name: (1, "", nodes[name]) if name in nodes else (-1, "unknown", ""),
            "getPid": lambda caller: (1, "", os.getpid()),
        }
    )
    servers.append(master)
    yield master_uri
    for server in servers:
        server.shutdown()


def test_registered_and_answering(graph):
    up, missing = Ros1Graph(graph).nodes_up(["/talker", "/ghost", "/never"])
    assert up == ["/talker"]
    assert missing == ["/ghost", "/never"]


def test_a_node_answered_by_a_process_of_someone_else_is_not_up(graph):
    seen = []
    checker = Ros1Graph(graph, belongs=lambda name, pid: seen.append((name, pid)) or False)
    assert checker.nodes_up(["/talker"]) == ([], ["/talker"])
    assert seen == [("/talker", 4242)]


def test_a_silent_master():
    assert Ros1Graph("http://127.0.0.1:9/", timeout=0.5).nodes_up(["/talker"]) == ([], ["/talker"])
    assert "does not answer" in ros1_master_problem("http://127.0.0.1:9/", timeout=0.5)


def test_node_belongs_needs_the_tag_and_the_node_name():
    tag = "unit-%d" % os.getpid()
    script = "import time; time.sleep(60)"
    ours = subprocess.Popen(
        [sys.executable, "-c", script, "__name:=talker", "__log:=/tmp/x.log"], env=dict(os.environ, **{TAG_NAME: tag})
    )
    launcher = subprocess.Popen([sys.executable, "-c", script, "roslaunch"], env=dict(os.environ, **{TAG_NAME: tag}))
    stranger = subprocess.Popen([sys.executable, "-c", script, "__name:=talker"])
    try:
        proc.wait_until(lambda: all(proc.read_stat(p.pid) for p in (ours, launcher, stranger)), 5)
        assert node_belongs(tag, "/talker", ours.pid)
        assert node_belongs(tag, "/ns/talker", ours.pid)
        assert not node_belongs(tag, "/listener", ours.pid)
        assert not node_belongs(tag, "/talker", launcher.pid)  # roslaunch's own server answering an old URI
        assert not node_belongs(tag, "/talker", stranger.pid)  # same name, another launch
        assert node_belongs(tag, "/talker", 2**22 + 1)  # not on this machine: cannot be checked
    finally:
        for child in (ours, launcher, stranger):
            child.kill()
            child.wait()
