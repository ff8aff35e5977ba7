"""tailnet_info: a desktop that joins while the module reads the server is not taken for one that needs a key."""

from ansible_collections.roverlab.clouddesktop.plugins.modules import tailnet_info

NODE = {
    "hostname": "alice-clouddesktop",
    "name": "alice-clouddesktop",
    "online": True,
    "expired": False,
    "expires": None,
    "last_seen": "2026-12-04T10:00:00Z",
    "addresses": ["100.64.0.5", "fd7a:115c:a1e0::5"],
}


class JoiningServer:
    """A coordination server on which alice's desktop registers between the module's node list and key lookup."""

    def __init__(self, node_left=False):
        self.node_left = node_left
        self.key_read = False

    def nodes(self):
        return [NODE] if self.key_read and not self.node_left else []

    def key_states(self, keys):
        self.key_read = True
        return {key: {"state": "used", "expires": None} for key in keys}


def report(run_module, monkeypatch, server):
    monkeypatch.setattr(tailnet_info, "server_api", lambda module: server)
    args = {"backend": "headscale", "api_url": "https://hs.lab", "api_key": "k", "keys": {"alice-clouddesktop": "hk"}}
    return run_module(tailnet_info.main, args)["hosts"]["alice-clouddesktop"]


def test_a_desktop_that_joined_between_the_reads_is_online(run_module, monkeypatch):
    assert report(run_module, monkeypatch, JoiningServer()) == {"state": "online", "detail": "100.64.0.5"}


def test_a_used_key_without_a_node_still_asks_for_a_new_key(run_module, monkeypatch):
    assert report(run_module, monkeypatch, JoiningServer(node_left=True))["state"] == "key-used"
