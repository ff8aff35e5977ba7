"""Command line: ``python3 -m fakekube --port 0 --kubeconfig PATH`` (with ``tests/`` on PYTHONPATH)."""

import argparse
import signal
import sys

from . import DEFAULT_KUBE_VERSION
from .api import ApiServer
from .kubeconfig import write_kubeconfig
from .server import make_server


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m fakekube",
        description="A stand-in for kube-apiserver for tests (in memory, plain HTTP, no authentication).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for this server to PATH")
    parser.add_argument("--kube-version", default=DEFAULT_KUBE_VERSION, help="version to report (default: %(default)s)")
    parser.add_argument(
        "--no-controllers",
        action="store_true",
        help="store objects only: no ReplicaSets, Pods, scheduling, binding or readiness",
    )
    parser.add_argument("--no-schema-validation", action="store_true", help="skip the OpenAPI schema checks")
    parser.add_argument(
        "--no-k3s", action="store_true", help="do not preinstall what k3s ships (HelmChart CRDs, local-path)"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if len(args.kube_version.lstrip("v").split(".")) < 2:
        parser.error("--kube-version must look like 1.31.0")
    args.kube_version = args.kube_version.lstrip("v")
    return args


def main(argv=None):
    args = parse_args(argv)
    api = ApiServer(
        args.kube_version,
        controllers=not args.no_controllers,
        schema_validation=not args.no_schema_validation,
        k3s=not args.no_k3s,
    )
    server = make_server(api, args.host, args.port, args.verbose)
    host = args.host if ":" not in args.host else "[%s]" % args.host
    url = "http://%s:%d" % (host, server.server_address[1])
    if args.kubeconfig:
        write_kubeconfig(args.kubeconfig, url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("fakekube listening on %s" % url, flush=True)
    print(
        "fakekube: kubernetes %s, controllers %s, schema validation %s"
        % (args.kube_version, "off" if args.no_controllers else "on", "on" if api.schema_validation else "off"),
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
