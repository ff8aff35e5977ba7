"""The desktops' tailnet filters: node names, environment, and which desktops need a new key."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.filter.tailnet import (
    desktop_tailnet_env,
    desktop_tailnet_hostname,
    tailnet_rekey,
    tailnet_server,
)
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import contract

DESKTOP = {"name": "alice", "container": "clouddesktop-alice"}
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"


def test_node_names_stay_when_the_pod_is_replaced():
    assert desktop_tailnet_hostname(DESKTOP, "kubernetes") == "alice-clouddesktop"
    assert desktop_tailnet_hostname(DESKTOP, "docker") == "clouddesktop-alice"
    with pytest.raises(AnsibleFilterError):
        desktop_tailnet_hostname(DESKTOP, "nomad")


def test_environment_names_the_login_server_and_its_ca_only_when_given():
    assert desktop_tailnet_env(DESKTOP, "kubernetes") == {"TAILSCALE_HOSTNAME": "alice-clouddesktop"}
    assert desktop_tailnet_env(DESKTOP, "docker") == {}
    env = desktop_tailnet_env(DESKTOP, "docker", "https://10.201.0.1:8443", CA)
    assert env == {"TS_LOGIN_SERVER": "https://10.201.0.1:8443", "TS_LOGIN_SERVER_CA": CA + "\n"}


def test_an_entry_cannot_set_the_tailnet_variables():
    for name in ("TAILSCALE_HOSTNAME", "TS_LOGIN_SERVER", "TS_LOGIN_SERVER_CA"):
        assert name in contract.RESERVED_ENV


def test_rekey_picks_expired_revoked_unknown_and_used_keys_only():
    hosts = {
        "a-clouddesktop": {"state": "online"},
        "b-clouddesktop": {"state": "expired"},
        "c-clouddesktop": {"state": "key-revoked"},
        "d-clouddesktop": {"state": "offline"},
        "e-clouddesktop": {"state": "not-joined"},
        "f-clouddesktop": {"state": "key-unknown"},
    }
    assert tailnet_rekey(hosts) == ["b-clouddesktop", "c-clouddesktop", "f-clouddesktop"]
    assert tailnet_rekey(hosts, {"b-clouddesktop": "b", "f-clouddesktop": "f"}) == ["b", "f"]
    with pytest.raises(AnsibleFilterError):
        tailnet_rekey(["b"])


def test_server_options_are_the_connection_without_the_key_settings():
    issuer = {"backend": "headscale", "api_url": "https://hs.lab", "api_key": "k", "user": "desktops", "tags": ["t"]}
    issuer.update(expiry=3600, ca_path="/etc/lab-ca.pem", timeout=5)
    assert tailnet_server(issuer) == {
        "backend": "headscale",
        "api_url": "https://hs.lab",
        "api_key": "k",
        "user": "desktops",
        "ca_path": "/etc/lab-ca.pem",
        "timeout": 5,
    }
    assert tailnet_server({}) == {}
    with pytest.raises(AnsibleFilterError):
        tailnet_server("headscale")
