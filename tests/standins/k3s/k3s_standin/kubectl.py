"""`k3s kubectl`, as far as the stand-in goes: `get nodes` / `get node NAME` with -o json, yaml, name or wide."""

import argparse
import calendar
import json
import sys
import time

import yaml

from k3s_standin.node import Api

KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"


def _server(kubeconfig):
    with open(kubeconfig, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    current = config.get("current-context")
    context = next(c["context"] for c in config["contexts"] if c["name"] == current)
    return next(c["cluster"]["server"] for c in config["clusters"] if c["name"] == context["cluster"])


def _roles(node):
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix) :] for k in node["metadata"].get("labels", {}) if k.startswith(prefix))
    return ",".join(roles) or "<none>"


def _ready(node):
    ready = [c for c in node.get("status", {}).get("conditions", []) if c.get("type") == "Ready"]
    return "Ready" if ready and ready[0].get("status") == "True" else "NotReady"


def _age(node):
    created = node["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = int(time.time() - calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")))
    return "%dm" % (seconds // 60) if seconds >= 120 else "%ds" % max(seconds, 0)


def _table(nodes, wide):
    header = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] + (["INTERNAL-IP", "CONTAINER-RUNTIME"] if wide else [])
    rows = [header]
    for node in nodes:
        row = [
            node["metadata"]["name"],
            _ready(node),
            _roles(node),
            _age(node),
            node["status"]["nodeInfo"]["kubeletVersion"],
        ]
        if wide:
            addresses = {a["type"]: a["address"] for a in node["status"].get("addresses", [])}
            row += [
                addresses.get("InternalIP", "<none>"),
                node["status"]["nodeInfo"].get("containerRuntimeVersion", ""),
            ]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def main(argv):
    parser = argparse.ArgumentParser(prog="k3s kubectl", add_help=False)
    parser.add_argument("--kubeconfig", default=KUBECONFIG)
    parser.add_argument("-o", "--output", default="")
    parser.add_argument("words", nargs="*")
    args, unknown = parser.parse_known_args(argv)
    words = args.words
    if unknown or len(words) < 2 or words[0] != "get" or words[1] not in ("node", "nodes", "no") or len(words) > 3:
        print(
            "error: `k3s kubectl %s` is not in the k3s stand-in (it has `get nodes [NAME] [-o json|yaml|name|wide]`)"
            % " ".join(argv),
            file=sys.stderr,
        )
        return 1
    api = Api(_server(args.kubeconfig))
    if len(words) == 3:
        code, body = api.request("GET", "/api/v1/nodes/%s" % words[2])
        if code != 200:
            print('Error from server (NotFound): nodes "%s" not found' % words[2], file=sys.stderr)
            return 1
        nodes, single = [body], body
    else:
        code, body = api.request("GET", "/api/v1/nodes")
        if code != 200:
            print("error: %s" % body.get("message", body), file=sys.stderr)
            return 1
        nodes, single = body.get("items", []), None
        body = {"apiVersion": "v1", "kind": "List", "items": nodes}
    if args.output == "json":
        print(json.dumps(single or body, indent=4))
    elif args.output == "yaml":
        print(yaml.safe_dump(single or body, default_flow_style=False), end="")
    elif args.output == "name":
        print("\n".join("node/%s" % n["metadata"]["name"] for n in nodes))
    elif args.output in ("", "wide"):
        print(_table(nodes, args.output == "wide"))
    else:
        print("error: output format %r is not in the k3s stand-in" % args.output, file=sys.stderr)
        return 1
    return 0
