# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The idle culler: one look at every running desktop; an idle one is stopped (never deleted), and why is recorded.

    python3 desktop_culler.py --config config.json kubernetes    (in the cluster: a CronJob, run by desktop_culler)
    python3 desktop_culler.py --config config.json docker        (on a Docker host: a systemd timer)

The rules are idle.py's (shipped next to this file; the collection's plugins/plugin_utils/_desktop/idle.py).
Standard library only, Python 3.8 or later: it runs in the desktop image (Kubernetes) or with the Docker host's
own python3.

Kubernetes: lists the desktop Deployments in the configured namespaces, reads each running desktop's activity
with one exec into its pod (pods/exec), and stops an idle one by setting its replicas to 0 (the `stopped` state of
cloud_desktop: volume, Secret, Service, Ingress and DNS name stay), with annotations saying when and why, a
Kubernetes Event on the Deployment and a line in the log. What it remembers between runs (since when each desktop
is idle, its last CPU sample) is one ConfigMap in its own namespace.
Docker: the same with the Docker API on its unix socket: exec, stop (the container is kept), a line in the log
(the journal), and a state file.

--dry-run decides and logs but changes nothing. --activity-dir DIR reads each desktop's probe output from
DIR/<namespace or "docker">/<user>.txt instead of running it in the desktop: a STAND-IN used by the API-tier
tests, whose API server has no kubelets to run an exec.
"""

import argparse
import base64
import calendar
import http.client
import json
import os
import socket
import ssl
import struct
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import idle  # shipped next to this file (sys.path above)

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
USER_LABEL = "clouddesktop.roverlab.io/user"
ANNOTATION_PREFIX = "clouddesktop.roverlab.io/"
FIELD_MANAGER = "desktop-culler"  # the role applies the objects as roverlab.clouddesktop-culler
DOCKER_USER_LABEL = "roverlab.clouddesktop.user"


class CullerError(Exception):
    pass


def log(message):
    sys.stdout.write("%s desktop-culler: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), message))
    sys.stdout.flush()


def rfc3339(moment):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def parse_time(text):
    """Unix time of an RFC 3339 time as Kubernetes and Docker write it (fractions and zone Z), or None."""
    if not text or text.startswith("0001-"):
        return None
    base = text.rstrip("Z").split(".")[0]
    try:
        return float(calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


# --- Kubernetes ------------------------------------------------------------------------------------------------


class KubeApi:
    """Just the API calls the culler makes, with its ServiceAccount's token (or the files given)."""

    def __init__(self, server=None, token_file=None, ca_file=None, timeout=30):
        if not server:
            host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            if not host:
                raise CullerError("not in a cluster (no KUBERNETES_SERVICE_HOST): give --server")
            server = "https://%s:%s" % ("[%s]" % host if ":" in host else host, port)
        parsed = urllib.parse.urlsplit(server)
        self.host, self.port = parsed.hostname, parsed.port or 443
        self.token_file = token_file or os.path.join(SA_DIR, "token")
        self.context = ssl.create_default_context(cafile=ca_file or os.path.join(SA_DIR, "ca.crt"))
        self.timeout = timeout

    def _token(self):
        # the kubelet rotates the projected token: read it for every request
        with open(self.token_file) as f:
            return f.read().strip()

    def request(self, method, path, body=None, content_type="application/json"):
        connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=self.timeout)
        headers = {"Authorization": "Bearer " + self._token(), "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type
        try:
            connection.request(method, path, body=data, headers=headers)
            answer = connection.getresponse()
            text = answer.read()
        finally:
            connection.close()
        if answer.status >= 400:
            raise CullerError(
                "%s %s: %d %s" % (method, path.split("?")[0], answer.status, text[:300].decode(errors="replace"))
            )
        return json.loads(text or b"null")

    def exec_in_pod(self, namespace, pod, container, command):
        """(exit code, stdout, stderr) of ``command`` in a container: the exec subresource over a WebSocket
        (protocol v4.channel.k8s.io: channel 1 stdout, 2 stderr, 3 the final status)."""
        query = [("container", container), ("stdout", "true"), ("stderr", "true")] + [("command", c) for c in command]
        path = "/api/v1/namespaces/%s/pods/%s/exec?%s" % (namespace, pod, urllib.parse.urlencode(query))
        raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock = self.context.wrap_socket(raw, server_hostname=self.host)
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall(
                (
                    "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\nAuthorization: Bearer %s\r\n\r\n"
                    % (path, self.host, self.port, key, self._token())
                ).encode()
            )
            return read_exec_stream(sock)
        finally:
            sock.close()


def _recv_exactly(sock, count, buffer):
    while len(buffer) < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError
        buffer.extend(chunk)
    data = bytes(buffer[:count])
    del buffer[:count]
    return data


def _send_frame(sock, opcode, payload=b""):
    """A client frame (clients must mask what they send)."""
    mask = os.urandom(4)
    header = bytes([0x80 | opcode, 0x80 | len(payload)])
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def read_exec_stream(sock):
    """Read the upgrade answer and the frames of an exec WebSocket until it closes: (exit code, stdout, stderr)."""
    buffer = bytearray()
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise CullerError("exec: the API server closed the connection before answering")
        buffer.extend(chunk)
    head, _sep, rest = bytes(buffer).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 101 " not in status_line + " ":
        raise CullerError("exec refused: %s %s" % (status_line, rest[:300].decode(errors="replace")))
    buffer = bytearray(rest)
    channels = {1: bytearray(), 2: bytearray(), 3: bytearray()}
    message, message_opcode = bytearray(), None
    try:
        while True:
            first, second = _recv_exactly(sock, 2, buffer)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                length = struct.unpack(">H", _recv_exactly(sock, 2, buffer))[0]
            elif length == 127:
                length = struct.unpack(">Q", _recv_exactly(sock, 8, buffer))[0]
            mask = _recv_exactly(sock, 4, buffer) if second & 0x80 else None
            payload = _recv_exactly(sock, length, buffer)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:  # close
                break
            if opcode == 0x9:  # ping
                _send_frame(sock, 0xA, payload)
                continue
            if opcode in (0x1, 0x2):
                message, message_opcode = bytearray(payload), opcode
            elif opcode == 0x0 and message_opcode is not None:
                message.extend(payload)
            else:
                continue
            if first & 0x80 and message:
                channel = message[0]
                if channel in channels:
                    channels[channel].extend(message[1:])
                message, message_opcode = bytearray(), None
    except EOFError:
        pass
    status = json.loads(bytes(channels[3]) or b"{}") if channels[3] else {}
    code = 0
    if status and status.get("status") != "Success":
        code = 1
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                code = int(cause.get("message") or 1)
    return code, bytes(channels[1]).decode(errors="replace"), bytes(channels[2]).decode(errors="replace")


class KubernetesTarget:
    name = "kubernetes"

    def __init__(self, config, api, activity_dir=None):
        self.config = config["kubernetes"]
        self.api = api
        self.activity_dir = activity_dir

    def desktops(self):
        """[{key, user, namespace, deployment, running, started_at, pod, annotations}]"""
        found = []
        selector = urllib.parse.quote(self.config["selector"])
        for namespace in self.config["namespaces"]:
            deployments = self.api.request(
                "GET", "/apis/apps/v1/namespaces/%s/deployments?labelSelector=%s" % (namespace, selector)
            )
            pods = self.api.request("GET", "/api/v1/namespaces/%s/pods?labelSelector=%s" % (namespace, selector))
            for deployment in deployments.get("items") or []:
                meta = deployment["metadata"]
                user = (meta.get("labels") or {}).get(USER_LABEL)
                if not user:
                    continue
                replicas = (deployment.get("spec") or {}).get("replicas")
                pod, started_at = self._running_pod(user, pods.get("items") or [])
                found.append(
                    {
                        "key": "%s/%s" % (namespace, user),
                        "user": user,
                        "namespace": namespace,
                        "deployment": meta["name"],
                        "uid": meta.get("uid"),
                        "running": replicas != 0,
                        "pod": pod,
                        "started_at": started_at,
                        "annotations": meta.get("annotations") or {},
                    }
                )
        return found

    def _running_pod(self, user, pods):
        """(name, container start time) of the user's pod whose desktop container runs, or (None, None)."""
        for pod in pods:
            meta = pod["metadata"]
            if (meta.get("labels") or {}).get(USER_LABEL) != user or meta.get("deletionTimestamp"):
                continue
            if (pod.get("status") or {}).get("phase") != "Running":
                continue
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                running = (status.get("state") or {}).get("running")
                if status.get("name") == self.config["container"] and running:
                    return meta["name"], parse_time(running.get("startedAt"))
        return None, None

    def probe(self, desktop):
        if self.activity_dir:
            return _stand_in_probe(self.activity_dir, desktop["namespace"], desktop["user"])
        code, out, err = self.api.exec_in_pod(
            desktop["namespace"], desktop["pod"], self.config["container"], idle.PROBE_COMMAND
        )
        if code != 0 and not out:
            raise CullerError("the probe failed in %s (exit %d): %s" % (desktop["pod"], code, err.strip()[:200]))
        return out

    def stop(self, desktop, decision, now):
        patch = {
            "metadata": {
                "annotations": {
                    ANNOTATION_PREFIX + "stopped-by": "desktop-culler",
                    ANNOTATION_PREFIX + "stopped-at": rfc3339(now),
                    ANNOTATION_PREFIX + "stopped-why": decision["why"][:1000],
                }
            },
            "spec": {"replicas": 0},
        }
        path = "/apis/apps/v1/namespaces/%s/deployments/%s?fieldManager=%s" % (
            desktop["namespace"],
            desktop["deployment"],
            FIELD_MANAGER,
        )
        self.api.request("PATCH", path, patch, "application/merge-patch+json")
        self.event(desktop, "IdleStopped", "Stopped by the idle culler: %s" % decision["why"], now)

    def forget_stop(self, desktop):
        """A desktop started again after the culler stopped it: remove the culler's annotations."""
        keys = [k for k in desktop["annotations"] if k.startswith(ANNOTATION_PREFIX + "stopped-")]
        if not keys:
            return
        patch = {"metadata": {"annotations": dict.fromkeys(keys)}}
        path = "/apis/apps/v1/namespaces/%s/deployments/%s?fieldManager=%s" % (
            desktop["namespace"],
            desktop["deployment"],
            FIELD_MANAGER,
        )
        self.api.request("PATCH", path, patch, "application/merge-patch+json")

    def event(self, desktop, reason, message, now):
        stamp = rfc3339(now)
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": "%s." % desktop["deployment"], "namespace": desktop["namespace"]},
            "involvedObject": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": desktop["deployment"],
                "namespace": desktop["namespace"],
                "uid": desktop.get("uid"),
            },
            "reason": reason,
            "message": message[:1000],
            "type": "Normal",
            "source": {"component": "desktop-culler"},
            "reportingComponent": "roverlab.clouddesktop/desktop-culler",
            "reportingInstance": socket.gethostname()[:128],
            "action": "Stop",
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        self.api.request("POST", "/api/v1/namespaces/%s/events" % desktop["namespace"], body)

    def load_state(self):
        try:
            self._state_object = self.api.request("GET", self._state_path())
        except CullerError as exc:
            log("no state to read (%s); every desktop's idle time starts now" % exc)
            self._state_object = None
            return {}
        text = ((self._state_object or {}).get("data") or {}).get("state.json") or "{}"
        try:
            return json.loads(text)
        except ValueError:
            return {}

    def save_state(self, state):
        if not self._state_object:
            raise CullerError(
                "the state ConfigMap %s is missing (the desktop_culler role creates it)" % self._state_path()
            )
        body = dict(self._state_object)
        body["data"] = dict(body.get("data") or {}, **{"state.json": json.dumps(state, sort_keys=True)})
        self.api.request("PUT", self._state_path() + "?fieldManager=%s" % FIELD_MANAGER, body)

    def _state_path(self):
        return "/api/v1/namespaces/%s/configmaps/%s" % (self.config["state_namespace"], self.config["state_configmap"])


# --- Docker ----------------------------------------------------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        http.client.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class DockerApi:
    def __init__(self, socket_path, timeout=60):
        self.socket_path = socket_path
        self.timeout = timeout

    def request(self, method, path, body=None, raw=False):
        connection = UnixHTTPConnection(self.socket_path, self.timeout)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
        finally:
            connection.close()
        if answer.status >= 400:
            raise CullerError(
                "docker %s %s: %d %s" % (method, path.split("?")[0], answer.status, data[:300].decode(errors="replace"))
            )
        if raw:
            return data
        return json.loads(data or b"null")

    def exec(self, container, command):
        """(exit code, stdout, stderr) of ``command`` in a running container."""
        created = self.request(
            "POST",
            "/containers/%s/exec" % container,
            {"AttachStdout": True, "AttachStderr": True, "Tty": False, "Cmd": command},
        )
        stream = self.request("POST", "/exec/%s/start" % created["Id"], {"Detach": False, "Tty": False}, raw=True)
        out, err = demultiplex(stream)
        code = self.request("GET", "/exec/%s/json" % created["Id"]).get("ExitCode")
        return code if code is not None else -1, out, err


def demultiplex(data):
    """Docker's attach stream without a TTY: frames of an 8-byte header (stream, 0, 0, 0, size) and the data."""
    out, err, position = bytearray(), bytearray(), 0
    while position + 8 <= len(data):
        kind, size = data[position], struct.unpack(">I", data[position + 4 : position + 8])[0]
        chunk = data[position + 8 : position + 8 + size]
        (err if kind == 2 else out).extend(chunk)
        position += 8 + size
    return out.decode(errors="replace"), err.decode(errors="replace")


class DockerTarget:
    name = "docker"

    def __init__(self, config, api, activity_dir=None):
        self.config = config["docker"]
        self.api = api
        self.activity_dir = activity_dir

    def desktops(self):
        # every label must match: the desktop_docker role's own, and those that pick this culler's desktops
        filters = urllib.parse.quote(json.dumps({"label": list(self.config["labels"])}))
        found = []
        for summary in self.api.request("GET", "/containers/json?all=1&filters=%s" % filters):
            user = (summary.get("Labels") or {}).get(DOCKER_USER_LABEL)
            if not user:
                continue
            details = self.api.request("GET", "/containers/%s/json" % summary["Id"])
            state = details.get("State") or {}
            found.append(
                {
                    "key": "docker/%s" % user,
                    "user": user,
                    "namespace": "docker",
                    "container": details["Name"].lstrip("/"),
                    "running": bool(state.get("Running")),
                    "pod": details["Name"].lstrip("/") if state.get("Running") else None,
                    "started_at": parse_time(state.get("StartedAt")),
                    "annotations": {},
                }
            )
        return found

    def probe(self, desktop):
        if self.activity_dir:
            return _stand_in_probe(self.activity_dir, "docker", desktop["user"])
        code, out, err = self.api.exec(desktop["container"], idle.PROBE_COMMAND)
        if code != 0 and not out:
            raise CullerError("the probe failed in %s (exit %s): %s" % (desktop["container"], code, err.strip()[:200]))
        return out

    def stop(self, desktop, decision, now):
        # the container is kept (its volume and password too); restart policy unless-stopped leaves it stopped
        self.api.request(
            "POST", "/containers/%s/stop?t=%d" % (desktop["container"], self.config["stop_timeout"]), raw=True
        )

    def forget_stop(self, desktop):
        pass

    def load_state(self):
        try:
            with open(self.config["state_file"]) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def save_state(self, state):
        path = self.config["state_file"]
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        temporary = path + ".tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as f:
            json.dump(state, f, sort_keys=True, indent=1)
            f.write("\n")
        os.replace(temporary, path)


def _stand_in_probe(directory, namespace, user):
    try:
        with open(os.path.join(directory, namespace, user + ".txt")) as f:
            return f.read()
    except OSError as exc:
        raise CullerError("no stand-in probe output for %s/%s: %s" % (namespace, user, exc)) from exc


# --- one pass ----------------------------------------------------------------------------------------------------


def cull(target, config, now=None, dry_run=False):
    """Look at every desktop once; stop the idle ones. Returns {key: decision} of the running desktops."""
    now = time.time() if now is None else now
    state = target.load_state()
    desktops_state = state.get("desktops") or {}
    overrides = config.get("desktops") or {}
    decisions, next_state = {}, {}
    for desktop in target.desktops():
        key = desktop["key"]
        if not desktop["running"]:
            if key in desktops_state and desktops_state[key].get("stopped_at"):
                next_state[key] = {
                    "stopped_at": desktops_state[key]["stopped_at"],
                    "why": desktops_state[key].get("why"),
                }
            continue
        if key in desktops_state and desktops_state[key].get("stopped_at"):
            desktops_state[key] = {}  # started again since the culler stopped it
        if not dry_run:
            try:
                target.forget_stop(desktop)
            except CullerError as exc:
                log("%s: could not clear the stop annotations: %s" % (key, exc))
        rules, problems = idle.policy(config.get("policy"), (overrides.get(desktop["user"]) or {}).get("idle_timeout"))
        if problems:
            log("%s: kept, its settings are wrong: %s" % (key, "; ".join(problems)))
            continue
        if desktop["pod"] is None:
            decision = idle.decide(now, rules, None, problem="its container is not running yet")
        else:
            try:
                report, gpu, problem = idle.read_probe(target.probe(desktop))
            except (CullerError, OSError, EOFError) as exc:
                report, gpu, problem = None, None, "the probe failed: %s" % exc
            decision = idle.decide(
                now, rules, report, gpu, desktops_state.get(key), desktop["started_at"], problem=problem
            )
        decisions[key] = decision
        entry = dict(decision["state"], why=decision["why"])
        if decision["stop"] and not dry_run:
            try:
                target.stop(desktop, decision, now)
            except CullerError as exc:
                log("%s: idle, but stopping it failed: %s" % (key, exc))
                next_state[key] = entry
                continue
            entry = {"stopped_at": now, "why": decision["why"]}
        log("%s: %s %s" % (key, "stop" if decision["stop"] else "keep", decision["why"]))
        next_state[key] = entry
    if not dry_run:
        try:
            target.save_state({"version": 1, "time": now, "desktops": next_state})
        except CullerError as exc:
            log("could not save the state (the next run starts afresh for these desktops): %s" % exc)
    return decisions


def main(argv=None):
    parser = argparse.ArgumentParser(description="Stop idle cloud desktops (roverlab.clouddesktop).")
    parser.add_argument("target", choices=("kubernetes", "docker"))
    parser.add_argument("--config", required=True, help="the culler's configuration (JSON)")
    parser.add_argument("--dry-run", action="store_true", help="decide and log, change nothing")
    parser.add_argument("--server", help="Kubernetes API URL (default: the cluster's, from inside a pod)")
    parser.add_argument("--token-file", help="bearer token file (default: the pod's ServiceAccount token)")
    parser.add_argument("--ca-file", help="CA bundle of the API server (default: the pod's)")
    parser.add_argument("--activity-dir", help="STAND-IN probe outputs (tests without kubelets)")
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config = json.load(f)
    try:
        if args.target == "kubernetes":
            target = KubernetesTarget(config, KubeApi(args.server, args.token_file, args.ca_file), args.activity_dir)
        else:
            target = DockerTarget(config, DockerApi(config["docker"]["socket"]), args.activity_dir)
        decisions = cull(target, config, dry_run=args.dry_run or bool(config.get("dry_run")))
    except (CullerError, OSError) as exc:
        log("failed: %s" % exc)
        return 1
    stopped = sorted(key for key, decision in decisions.items() if decision["stop"])
    log(
        "looked at %d running desktop(s); stopped %d%s"
        % (len(decisions), len(stopped), ": " + ", ".join(stopped) if stopped else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
