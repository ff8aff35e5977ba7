"""Health of the desktop, for Docker's HEALTHCHECK and Kubernetes exec probes; exit 0 when healthy.

    desktop-healthcheck          every service: noVNC page, code-server, VNC and SSH listening
    desktop-healthcheck novnc    only the named ones (novnc, vscode, vnc, ssh)

VNC and SSH are checked from /proc/net/tcp* (listening sockets), never by connecting: each connection would
appear in Xvnc's log and count towards its blacklist. Prints one line per failed check.
"""

import sys
import urllib.error
import urllib.request

LISTEN = "0A"


def listening(port):
    needle = ":%04X" % port
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[1].endswith(needle) and fields[3] == LISTEN:
                        return True
        except OSError:
            continue
    return False


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:  # noqa: S310 - a loopback URL
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


CHECKS = {
    "novnc": lambda: http_ok("http://127.0.0.1:80/vnc.html"),
    "vscode": lambda: http_ok("http://127.0.0.1:8080/healthz"),
    "vnc": lambda: listening(5900),
    "ssh": lambda: listening(2222),
}


def main(argv):
    names = argv[1:] or list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        sys.stderr.write("unknown check: %s (known: %s)\n" % (", ".join(unknown), ", ".join(CHECKS)))
        return 2
    failed = [n for n in names if not CHECKS[n]()]
    for name in failed:
        print("%s: not answering" % name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
