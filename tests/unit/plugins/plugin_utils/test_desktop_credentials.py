"""Passwords are made once and kept; Tailscale keys come from the first source that has one."""

import base64
import string

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import credentials as creds


def secret(user, namespace="clouddesktop-prod", **data):
    encoded = {k.replace("_", "-"): base64.b64encode(v.encode()).decode() for k, v in data.items()}
    labels = {creds.USER_LABEL: user}
    return {"metadata": {"name": "%s-clouddesktop" % user, "namespace": namespace, "labels": labels}, "data": encoded}


DESKTOPS = [{"name": "alice", "namespace": "clouddesktop-prod"}, {"name": "bob", "namespace": "clouddesktop-prod"}]


def test_new_desktops_get_their_own_strong_password():
    result = creds.plan_credentials(DESKTOPS, [], length=20)
    alice, bob = result["alice"]["password"], result["bob"]["password"]
    assert len(alice) == 20 and set(alice) <= set(string.ascii_letters + string.digits)
    assert alice != bob
    assert not result["alice"]["password_kept"]


def test_a_kept_password_is_never_regenerated():
    kept = [secret("alice", password="kept-password-1")]
    result = creds.plan_credentials(DESKTOPS, kept)
    assert result["alice"]["password"] == "kept-password-1" and result["alice"]["password_kept"]
    assert result["bob"]["password"] != "kept-password-1"


def test_the_secret_in_the_desktops_own_namespace_wins_over_an_old_one():
    secrets = [
        secret("alice", "clouddesktop-prod", password="here"),
        secret("alice", "clouddesktop-dev", password="old"),
    ]
    assert creds.plan_credentials(DESKTOPS[:1], secrets)["alice"]["password"] == "here"
    moved = [secret("alice", "clouddesktop-dev", password="from-dev")]
    assert creds.plan_credentials(DESKTOPS[:1], moved)["alice"]["password"] == "from-dev"


def test_key_sources_in_order():
    secrets = [secret("bob", password="p", tailscale_authkey="tskey-kept")]
    result = creds.plan_credentials(
        [*DESKTOPS, {"name": "carol", "namespace": "clouddesktop-prod"}, {"name": "dave", "namespace": "x"}],
        secrets,
        explicit_keys={"alice": "tskey-alice"},
        issued_keys={"carol": "tskey-issued", "alice": "tskey-not-used"},
        shared_key="tskey-shared",
    )
    assert [(result[u]["tailscale_auth_key"], result[u]["key_source"]) for u in ("alice", "bob", "carol", "dave")] == [
        ("tskey-alice", "user"),
        ("tskey-kept", "kept"),
        ("tskey-issued", "hook"),
        ("tskey-shared", "shared"),
    ]
    # a key issued in this run replaces the kept one: that is a re-key (the server no longer took the kept key)
    rekeyed = creds.plan_credentials(DESKTOPS, secrets, issued_keys={"bob": "tskey-new"})
    assert (rekeyed["bob"]["tailscale_auth_key"], rekeyed["bob"]["key_source"]) == ("tskey-new", "hook")
    assert creds.plan_credentials(DESKTOPS[:1], [])["alice"]["key_source"] == "none"


def test_keys_are_issued_only_for_desktops_without_one():
    secrets = [secret("bob", password="p", tailscale_authkey="tskey-kept")]
    assert creds.keys_to_issue([*DESKTOPS, {"name": "carol", "namespace": "n"}], secrets, {"carol": "k"}) == ["alice"]


def test_garbage_in_a_secret_reads_as_no_value():
    broken = [
        {
            "metadata": {"namespace": "clouddesktop-prod", "labels": {creds.USER_LABEL: "alice"}},
            "data": {"password": "%%%"},
        }
    ]
    assert not creds.plan_credentials(DESKTOPS[:1], broken)["alice"]["password_kept"]
