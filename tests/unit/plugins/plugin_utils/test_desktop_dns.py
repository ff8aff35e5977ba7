"""DNS records for desktops: only what differs is changed, removed desktops lose their records."""

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import dns

ALICE = {
    "name": "alice",
    "state": "present",
    "hosts": {"vnc": "vnc.alice.ros.example.org", "code": "code.alice.ros.example.org"},
}
BOB_GONE = {
    "name": "bob",
    "state": "absent",
    "hosts": {"vnc": "vnc.bob.ros.example.org", "code": "code.bob.ros.example.org"},
}


def rrset(name, value, kind="A", ttl=300):
    return {"name": name, "type": kind, "ttl": ttl, "resource_records": [{"value": value}]}


def test_record_types():
    assert dns.record_type("203.0.113.10") == "A"
    assert dns.record_type("2001:db8::1") == "AAAA"
    assert dns.record_type("lb.example.org") == "CNAME"
    assert dns.record_type("999.1.1.1") == "CNAME"


def test_wanted_records_per_host_or_one_wildcard():
    records = dns.wanted_records([ALICE, BOB_GONE], "records", "ros.example.org", "203.0.113.10", 300)
    assert [r["record"] for r in records] == ["code.alice.ros.example.org", "vnc.alice.ros.example.org"]
    (wildcard,) = dns.wanted_records([ALICE], "wildcard", "ros.example.org", "lb.example.org", 60)
    assert wildcard == {"record": "*.ros.example.org", "type": "CNAME", "value": "lb.example.org", "ttl": 60}


def test_only_missing_or_different_records_are_set():
    wanted = dns.wanted_records([ALICE], "records", "ros.example.org", "203.0.113.10", 300)
    zone = [rrset("vnc.alice.ros.example.org.", "203.0.113.10"), rrset("code.alice.ros.example.org.", "198.51.100.1")]
    plan = dns.plan_records(zone, wanted, [])
    assert [r["record"] for r in plan["set"]] == ["code.alice.ros.example.org"]
    assert dns.plan_records([*zone[:1], rrset("code.alice.ros.example.org.", "203.0.113.10", ttl=60)], wanted, [])[
        "set"
    ]


def test_removed_desktops_lose_their_records_and_the_wildcard_is_matched():
    zone = [rrset("vnc.bob.ros.example.org.", "203.0.113.10"), rrset("\\052.ros.example.org.", "203.0.113.10")]
    wanted = dns.wanted_records([ALICE], "wildcard", "ros.example.org", "203.0.113.10", 300)
    plan = dns.plan_records(zone, wanted, BOB_GONE["hosts"].values())
    assert plan["set"] == []
    assert plan["delete"] == [{"record": "vnc.bob.ros.example.org", "type": "A", "value": ["203.0.113.10"], "ttl": 300}]


def test_a_record_that_changes_type_is_removed_first():
    wanted = dns.wanted_records([ALICE], "records", "ros.example.org", "lb.example.net", 300)
    zone = [rrset("vnc.alice.ros.example.org.", "203.0.113.10")]
    plan = dns.plan_records(zone, wanted, [])
    assert [(r["record"], r["type"]) for r in plan["delete"]] == [("vnc.alice.ros.example.org", "A")]
    assert {(r["record"], r["type"]) for r in plan["set"]} == {
        ("vnc.alice.ros.example.org", "CNAME"),
        ("code.alice.ros.example.org", "CNAME"),
    }
