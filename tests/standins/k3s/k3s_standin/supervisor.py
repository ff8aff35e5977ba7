"""The server's port 6443: k3s's join endpoints (token checked) in front of the fake Kubernetes API.

Real k3s serves the supervisor (/cacerts, /v1-k3s/...) and kube-apiserver on one TLS port; the stand-in
does the same over plain HTTP and forwards every API path to fakekube running on a loopback port.
"""

import base64
import hashlib
import hmac
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}


def ca_hash(ca_pem):
    return hashlib.sha256(ca_pem.encode()).hexdigest()


def full_token(ca_pem, password):
    """The K10 form k3s writes to node-token: K10<sha256 of the CA bundle>::server:<password>."""
    return "K10%s::server:%s" % (ca_hash(ca_pem), password)


def split_token(token):
    """(ca hash or None, password) from a K10 token or a bare password."""
    if token.startswith("K10") and "::" in token:
        head, _separator, credentials = token.partition("::")
        return head[3:], credentials.split(":", 1)[1] if ":" in credentials else credentials
    return None, token


class Supervisor:
    def __init__(self, bind, port, api_port, ca_pem, password, version):
        self.api_port = api_port
        self.ca_pem = ca_pem
        self.password = password
        self.version = version
        handler = type("Handler", (_Handler,), {"supervisor": self})
        self.server = ThreadingHTTPServer((bind, port), handler)
        self.server.daemon_threads = True

    def start(self):
        thread = threading.Thread(target=self.server.serve_forever, name="supervisor", daemon=True)
        thread.start()

    def authorised(self, header):
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _colon, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return user in ("node", "server") and hmac.compare_digest(password, self.password)


class _Handler(BaseHTTPRequestHandler):
    supervisor = None
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _reply(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        if self.path == "/cacerts":
            return self._reply(200, self.supervisor.ca_pem, "text/plain")
        if self.path.startswith("/v1-k3s/"):
            if not self.supervisor.authorised(self.headers.get("Authorization")):
                return self._reply(401, json.dumps({"message": "Unauthorized: token rejected"}))
            return self._reply(200, json.dumps({"version": self.supervisor.version, "standin": True}))
        return self._forward()

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "host"}
        connection = http.client.HTTPConnection("127.0.0.1", self.supervisor.api_port, timeout=60)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except OSError as exc:
            return self._reply(503, json.dumps({"message": "the fake API is not reachable: %s" % exc}))
        finally:
            connection.close()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle
