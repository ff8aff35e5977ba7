"""Route53 records of desktops, against a moto server on loopback (a stand-in for AWS, see conftest)."""

from conftest import records


def test_records_follow_the_desktops(dns_lab, route53):
    dns_lab.users = [{"name": "alice"}, {"name": "bob"}]
    first = dns_lab.run("desktops")
    assert first.rc == 0, first
    assert records(route53) == {
        "vnc.alice.ros.example.org": ("A", ["203.0.113.10"]),
        "code.alice.ros.example.org": ("A", ["203.0.113.10"]),
        "vnc.bob.ros.example.org": ("A", ["203.0.113.10"]),
        "code.bob.ros.example.org": ("A", ["203.0.113.10"]),
    }
    second = dns_lab.run("desktops")
    assert second.rc == 0 and second.changed == 0, second

    # a new ingress address moves every record; check mode only says so
    dns_lab.settings["cloud_desktop_ingress_address"] = "lb.example.net"
    check = dns_lab.run("desktops", check=True)
    assert check.rc == 0 and check.changed > 0, check
    assert records(route53)["vnc.alice.ros.example.org"] == ("A", ["203.0.113.10"])
    moved = dns_lab.run("desktops")
    assert moved.rc == 0, moved
    now = records(route53)
    assert len(now) == 4 and all(value == ("CNAME", ["lb.example.net"]) for value in now.values()), now

    dns_lab.users = [{"name": "alice"}, {"name": "bob", "state": "absent"}]
    removed = dns_lab.run("desktops")
    assert removed.rc == 0 and removed.changed > 0, removed
    assert sorted(records(route53)) == ["code.alice.ros.example.org", "vnc.alice.ros.example.org"]
    assert dns_lab.run("desktops").changed == 0


def test_one_wildcard_record_instead(dns_lab, route53):
    dns_lab.settings.update(cloud_desktop_dns="wildcard", cloud_desktop_ingress_address="lb.example.net")
    dns_lab.users = [{"name": "alice"}, {"name": "bob"}]
    assert dns_lab.run("desktops").rc == 0
    assert records(route53) == {"*.ros.example.org": ("CNAME", ["lb.example.net"])}
    again = dns_lab.run("desktops")
    assert again.rc == 0 and again.changed == 0, again


def test_a_missing_zone_is_reported(dns_lab, route53):
    dns_lab.settings.update(cloud_desktop_route53_zone="example.com", cloud_desktop_domain="ros.example.com")
    dns_lab.users = [{"name": "alice"}]
    result = dns_lab.run("desktops")
    assert result.rc != 0 and "Route53 has no zone named example.com" in result.text, result
