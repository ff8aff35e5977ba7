# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DNS records desktops need, compared with the records a Route53 zone has.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

Reading the zone once and changing only what differs keeps a reconcile of many desktops to two API calls
when nothing changed, instead of one amazon.aws.route53 call per record.
"""

import re

_IPV4_RE = re.compile(r"(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}")


def record_type(address):
    """A for an IPv4 address, AAAA for an IPv6 one, CNAME for a host name."""
    if _IPV4_RE.fullmatch(address):
        return "A"
    if ":" in address:
        return "AAAA"
    return "CNAME"


def normalize_name(name):
    """Route53 returns names with a final dot and a wildcard as \\052."""
    return name.replace("\\052", "*").rstrip(".").lower()


def wanted_records(desktops, mode, domain, address, ttl):
    """The records for the desktops to keep: one per host, or one wildcard for the domain."""
    kind = record_type(address)
    if mode == "wildcard":
        names = ["*.%s" % domain]
    elif mode == "records":
        names = [host for d in desktops if d["state"] != "absent" for host in sorted(d["hosts"].values())]
    else:
        names = []
    return [{"record": name, "type": kind, "value": address, "ttl": int(ttl)} for name in names]


def plan_records(record_sets, wanted, removed_hosts):
    """{set: [records to create or change], delete: [records to remove first]} against the zone's record sets.

    ``record_sets``: as amazon.aws.route53_info returns them (snake_case). ``removed_hosts``: host names of
    desktops that are removed; their A/AAAA/CNAME records are deleted whatever their value.
    """
    existing = {}
    for rrset in record_sets or []:
        values = sorted(r.get("value") for r in rrset.get("resource_records") or [])
        existing[(normalize_name(rrset.get("name", "")), rrset.get("type"))] = {
            "values": values,
            "ttl": rrset.get("ttl"),
        }
    to_set = []
    for record in wanted:
        have = existing.get((record["record"], record["type"]))
        if have is None or have["values"] != [record["value"]] or have["ttl"] != record["ttl"]:
            to_set.append(record)
    wanted_names = {r["record"] for r in wanted}
    to_delete = []
    # A name holds a CNAME or address records, never both: a record whose type changes goes first.
    for record in wanted:
        for kind in ("A", "AAAA", "CNAME"):
            have = existing.get((record["record"], kind))
            if kind != record["type"] and have is not None:
                to_delete.append(
                    {"record": record["record"], "type": kind, "value": have["values"], "ttl": have["ttl"]}
                )
    for host in sorted(set(removed_hosts or [])):
        if host in wanted_names:
            continue
        for kind in ("A", "AAAA", "CNAME"):
            have = existing.get((host, kind))
            if have is not None:
                to_delete.append({"record": host, "type": kind, "value": have["values"], "ttl": have["ttl"]})
    return {"set": to_set, "delete": to_delete}
