"""Discovery documents: /version, /api, /apis, /apis/<group>, and the resource list of a group version."""

from .resources import ALL_VERBS, SUBRESOURCE_VERBS


def version_info(kube_version):
    major, minor = kube_version.split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "gitVersion": "v%s+fakekube" % kube_version,
        "gitCommit": "0" * 40,
        "gitTreeState": "clean",
        "buildDate": "2024-01-01T00:00:00Z",
        "goVersion": "go1.22.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(server_address):
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name, versions):
    entries = [{"groupVersion": "%s/%s" % (name, v), "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry):
    groups = [_group(name, versions) for name, versions in registry.group_versions().items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry, name):
    versions = registry.group_versions().get(name)
    if not versions:
        return None
    return dict(_group(name, versions), kind="APIGroup", apiVersion="v1")


def resource_list(group, version, types):
    resources = []
    for rtype in types:
        entry = {
            "name": rtype.plural,
            "singularName": rtype.singular,
            "namespaced": rtype.namespaced,
            "kind": rtype.kind,
            "verbs": list(ALL_VERBS)
            if rtype.kind != "Namespace"
            else [v for v in ALL_VERBS if v != "deletecollection"],
        }
        if rtype.short_names:
            entry["shortNames"] = list(rtype.short_names)
        if rtype.custom:
            entry["categories"] = ["all"]
        resources.append(entry)
        for sub in rtype.subresources:
            sub_entry = {
                "name": "%s/%s" % (rtype.plural, sub),
                "singularName": "",
                "namespaced": rtype.namespaced,
                "kind": rtype.kind,
                "verbs": list(SUBRESOURCE_VERBS.get(sub, ("get",))),
            }
            if sub == "scale":
                sub_entry.update(kind="Scale", group="autoscaling", version="v1")
            elif sub == "eviction":
                sub_entry.update(kind="Eviction", group="policy", version="v1")
            elif sub == "binding":
                sub_entry["kind"] = "Binding"
            resources.append(sub_entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "%s/%s" % (group, version) if group else version,
        "resources": resources,
    }
