"""Is a host reached over the tailnet off it? From the controller's `tailscale status --json` (a captured shape)."""

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.filter.tailnet import tailnet_peer_problem
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._tailnet.peers import peer_problem


def peer(host, ip, online, last_seen="2026-12-03T14:18:40.240013094Z"):
    return {
        "HostName": host,
        "DNSName": "%s.tailnet.lab.test." % host,
        "TailscaleIPs": [ip, "fd7a:115c:a1e0::%s" % ip.rsplit(".", 1)[1]],
        "Online": online,
        "LastSeen": last_seen,
    }


STATUS = {
    "BackendState": "Running",
    "MagicDNSSuffix": "tailnet.lab.test",
    "Self": {
        "HostName": "lab-controller",
        "DNSName": "lab-controller.tailnet.lab.test.",
        "TailscaleIPs": ["100.64.0.1"],
    },
    "Peer": {
        "nodekey:1": peer("robot1", "100.64.0.2", True, "0001-01-01T00:00:00Z"),
        "nodekey:2": peer("robot2", "100.64.0.3", False),
    },
}


@pytest.mark.parametrize("address", ["robot1", "robot1.tailnet.lab.test", "100.64.0.2", "ROBOT1.tailnet.lab.test."])
def test_an_online_robot_by_any_of_its_names_is_fine(address):
    assert peer_problem(STATUS, "robot1", address) == ""


@pytest.mark.parametrize("address", ["robot2", "robot2.tailnet.lab.test", "100.64.0.3"])
def test_an_offline_robot_is_named_with_its_node_and_when_it_was_seen(address):
    problem = peer_problem(STATUS, "roverlab-robot2", address)
    assert problem.startswith("roverlab-robot2 is off the tailnet: its node robot2.tailnet.lab.test (100.64.0.3")
    assert "offline, last seen 2026-12-03T14:18:40" in problem


@pytest.mark.parametrize("address", ["100.64.0.77", "robot9.tailnet.lab.test"])
def test_a_tailnet_address_no_node_answers_to_is_off_the_tailnet(address):
    assert (
        peer_problem(STATUS, "robot9", address) == "robot9 is off the tailnet: no node of the tailnet is %s" % address
    )


@pytest.mark.parametrize("address", ["10.201.1.2", "robot1.lab.example.edu", "robot3"])
def test_hosts_that_are_not_on_the_tailnet_are_not_checked(address):
    assert peer_problem(STATUS, "robot", address) == ""


def test_the_controller_itself_and_unreadable_status_check_nothing():
    assert peer_problem(STATUS, "me", "100.64.0.1") == ""
    assert tailnet_peer_problem("", "robot2", "robot2") == ""
    assert tailnet_peer_problem("not json", "robot2", "robot2") == ""
    assert tailnet_peer_problem(None, "robot2", "robot2") == ""


def test_the_filter_takes_the_commands_text():
    import json

    assert "robot2 is off the tailnet" in tailnet_peer_problem(json.dumps(STATUS), "robot2", "robot2")
