"""STAND-IN for the lab's desktop image (cosi119/tb3-ros), for tests only.

The real image runs noVNC behind nginx on 80, code-server behind nginx on 8080, x11vnc on 5900, sshd on
2222 and tailscaled, all configured from the environment (PASSWORD, VNC_PASSWORD, RESOLUTION, AUTHKEY).
None of that can be pulled here, so this program answers on the same ports with just enough of each
protocol for the desktop_docker tests to tell a working desktop from a broken one:

  80    HTTP page standing in for noVNC (names the resolution)
  8080  HTTP standing in for code-server: POST /login with password=<PASSWORD> -> 200, otherwise 401
  5900  the start of a real RFB 3.8 handshake, offering VNC authentication only (a password is set)
  2222  an SSH identification banner

It also does what tailscaled needs from the container: it creates a TUN interface through /dev/net/tun,
which takes the device and CAP_NET_ADMIN, and writes the outcome to /run/standin/tun-status.
Secrets are never printed.
"""

import fcntl
import http.server
import os
import secrets
import signal
import socketserver
import struct
import sys
import threading
import urllib.parse

STATUS_DIR = "/run/standin"
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


class ThreadingServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        sys.stderr.write("%s %s\n" % (self.server.server_address[1], format % args))

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class NoVncHandler(QuietHandler):
    def do_GET(self):
        resolution = os.environ.get("RESOLUTION", "unset")
        self.reply(200, "<html><title>noVNC (stand-in)</title><body>resolution %s</body></html>\n" % resolution)


class CodeServerHandler(QuietHandler):
    def do_GET(self):
        if self.path.startswith("/healthz"):
            self.reply(200, "ok\n")
        else:
            self.reply(200, "<html><title>code-server (stand-in)</title><form method=post action=/login></form>\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(errors="replace"))
        expected = os.environ.get("PASSWORD", "")
        given = form.get("password", [""])[0]
        if self.path == "/login" and expected and secrets.compare_digest(given, expected):
            self.reply(200, "logged in\n")
        else:
            self.reply(401, "wrong password\n")


class RfbHandler(socketserver.BaseRequestHandler):
    """RFB 3.8 up to the VNC authentication challenge (RFC 6143, sections 7.1.1 to 7.2.2)."""

    def handle(self):
        sock = self.request
        sock.settimeout(10)
        sock.sendall(b"RFB 003.008\n")
        if not sock.recv(12).startswith(b"RFB 003."):
            return
        sock.sendall(bytes([1, 2]))  # one security type: 2 = VNC authentication
        if sock.recv(1) == bytes([2]):
            sock.sendall(secrets.token_bytes(16))  # the challenge; checking the response is x11vnc's job
            sock.recv(16)
            sock.sendall(struct.pack(">I", 1) + struct.pack(">I", 22) + b"stand-in: no VNC here")


class SshBannerHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"SSH-2.0-OpenSSH_standin roverlab tb3-ros stand-in\r\n")


def create_tun():
    """Create a TUN interface the way tailscaled does; return 'ok' or the error."""
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR)
    except OSError as exc:
        return "open /dev/net/tun: %s" % exc.strerror
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"standin0", IFF_TUN | IFF_NO_PI))
    except OSError as exc:
        return "TUNSETIFF: %s" % exc.strerror
    finally:
        os.close(fd)
    return "ok"


def serve(port, handler):
    server = ThreadingServer(("0.0.0.0", port), handler)
    threading.Thread(target=server.serve_forever, name="port-%d" % port, daemon=True).start()


def main():
    os.makedirs(STATUS_DIR, exist_ok=True)
    with open(os.path.join(STATUS_DIR, "tun-status"), "w") as f:
        f.write(create_tun() + "\n")
    with open(os.path.join(STATUS_DIR, "tailscale-authkey"), "w") as f:
        f.write(("set" if os.environ.get("AUTHKEY") else "unset") + "\n")
    serve(80, NoVncHandler)
    serve(8080, CodeServerHandler)
    serve(5900, RfbHandler)
    serve(2222, SshBannerHandler)
    print("tb3-ros stand-in desktop serving 80, 8080, 5900, 2222", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(3600):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
