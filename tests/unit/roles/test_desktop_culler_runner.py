"""The culler's runner as it is shipped (desktop_culler.py next to idle.py): one pass over the desktops, the exec
WebSocket of the Kubernetes API, Docker's multiplexed exec stream."""

import importlib.util
import json
import shutil
import socket
import struct
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
RUNNER = REPO / "roles" / "desktop_culler" / "files" / "desktop_culler.py"
IDLE = REPO / "plugins" / "plugin_utils" / "_desktop" / "idle.py"


@pytest.fixture
def culler(tmp_path, monkeypatch):
    """The runner imported from a folder that holds the two files, as the ConfigMap and the Docker host have them."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy(RUNNER, shipped / "desktop_culler.py")
    shutil.copy(IDLE, shipped / "idle.py")
    monkeypatch.delitem(sys.modules, "idle", raising=False)
    spec = importlib.util.spec_from_file_location("desktop_culler_shipped", shipped / "desktop_culler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("idle", None)


def probe(time, connections=0, ros=0, gpu="none"):
    report = {
        "version": 1,
        "time": time,
        "interval": 30,
        "connections": {"novnc": connections, "vnc": 0, "vscode": 0, "ssh": 0},
        "ros": {"count": ros, "processes": [{"pid": 7, "command": "rosrun demo talker"}] * ros},
        "cpu": {"usage_usec": 5, "percent": 0.0},
        "last_active": None,
    }
    return "%s\n--roverlab-gpu--\n%s\n" % (json.dumps(report), gpu)


class FakeTarget:
    name = "fake"

    def __init__(self, desktops, probes):
        self._desktops = desktops
        self.probes = probes
        self.state = {}
        self.stopped = []

    def desktops(self):
        return [dict(d) for d in self._desktops]

    def probe(self, desktop):
        return self.probes[desktop["user"]]

    def stop(self, desktop, decision, now):
        self.stopped.append((desktop["user"], decision["why"]))
        for d in self._desktops:
            if d["user"] == desktop["user"]:
                d["running"] = False

    def forget_stop(self, desktop):
        pass

    def load_state(self):
        return json.loads(json.dumps(self.state))

    def save_state(self, state):
        self.state = state


def desktop(user, running=True):
    return {
        "key": "ns/%s" % user,
        "user": user,
        "namespace": "ns",
        "running": running,
        "pod": user + "-pod" if running else None,
        "started_at": 0.0,
        "annotations": {},
    }


def test_only_the_idle_desktop_is_stopped_after_its_timeout(culler):
    now = 1_800_000_000.0
    users = ["idle", "ros", "novnc", "gpu", "forever", "off"]
    target = FakeTarget(
        [desktop(u) for u in users[:-1]] + [desktop("off", running=False)],
        {
            "idle": probe(now),
            "ros": probe(now, ros=1),
            "novnc": probe(now, connections=1),
            "gpu": probe(now, gpu="93, 4000"),
            "forever": probe(now),
        },
    )
    config = {"policy": {"idle_timeout": 60}, "desktops": {"forever": {"idle_timeout": "never"}}}
    first = culler.cull(target, config, now=now)
    assert target.stopped == [] and set(first) == {"ns/idle", "ns/ros", "ns/novnc", "ns/gpu", "ns/forever"}
    assert target.state["desktops"]["ns/idle"]["idle_since"] == now
    for user in target.probes:
        target.probes[user] = target.probes[user].replace(str(now), str(now + 61))
    second = culler.cull(target, config, now=now + 61)
    assert [user for user, _why in target.stopped] == ["idle"]
    assert "idle for 1m01s" in target.stopped[0][1]
    assert second["ns/ros"]["busy"] and second["ns/novnc"]["busy"] and second["ns/gpu"]["busy"]
    assert second["ns/forever"]["idle"] and not second["ns/forever"]["stop"]
    assert target.state["desktops"]["ns/idle"]["stopped_at"] == now + 61
    # the next pass sees it stopped and keeps why in the state (for the status page)
    culler.cull(target, config, now=now + 120)
    assert "idle for" in target.state["desktops"]["ns/idle"]["why"] and len(target.stopped) == 1


def test_dry_run_changes_nothing(culler):
    now = 1_800_000_000.0
    target = FakeTarget([desktop("idle")], {"idle": probe(now)})
    target.state = {"desktops": {"ns/idle": {"idle_since": now - 5000, "time": now - 60}}}
    decisions = culler.cull(target, {"policy": {"idle_timeout": 60}}, now=now, dry_run=True)
    assert decisions["ns/idle"]["stop"] and target.stopped == []
    assert target.state == {"desktops": {"ns/idle": {"idle_since": now - 5000, "time": now - 60}}}


def test_a_failing_probe_keeps_the_desktop(culler):
    now = 1_800_000_000.0

    class Broken(FakeTarget):
        def probe(self, desktop):
            raise culler.CullerError("exec refused: 403")

    target = Broken([desktop("alice")], {})
    target.state = {"desktops": {"ns/alice": {"idle_since": now - 5000, "time": now - 60}}}
    decisions = culler.cull(target, {"policy": {"idle_timeout": 60}}, now=now)
    assert not decisions["ns/alice"]["stop"] and "exec refused: 403" in decisions["ns/alice"]["why"]


def frame(opcode, payload, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    elif len(payload) < 65536:
        head += bytes([126]) + struct.pack(">H", len(payload))
    else:
        head += bytes([127]) + struct.pack(">Q", len(payload))
    return head + payload


def serve(answer):
    """A socket pair whose server end writes ``answer`` and collects what the client sends."""
    client, server = socket.socketpair()
    received = bytearray()

    def run():
        server.sendall(answer)
        server.settimeout(2)
        try:
            while True:
                chunk = server.recv(4096)
                if not chunk:
                    break
                received.extend(chunk)
        except OSError:
            pass
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return client, thread, received


def test_exec_stream_channels_fragments_and_exit_code(culler):
    stdout = b"x" * 70000  # a 64-bit length frame
    status = json.dumps(
        {
            "status": "Failure",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
        }
    ).encode()
    answer = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n"
        + frame(0x2, b"\x01" + stdout[:300], fin=False)
        + frame(0x0, stdout[300:])
        + frame(0x9, b"ping")
        + frame(0x2, b"\x02oops")
        + frame(0x2, b"\x03" + status)
        + frame(0x8, b"")
    )
    client, thread, received = serve(answer)
    code, out, err = culler.read_exec_stream(client)
    client.close()
    thread.join()
    assert (code, out, err) == (3, stdout.decode(), "oops")
    # the ping was answered with a masked pong
    assert received[0] == 0x8A and received[1] & 0x80


def test_exec_stream_success_and_refusal(culler):
    ok = (
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n" + frame(0x2, b"\x01hello") + frame(0x2, b'\x03{"status":"Success"}')
    )
    client, thread, _received = serve(ok)
    assert culler.read_exec_stream(client) == (0, "hello", "")
    client.close()
    thread.join()
    refused = b'HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n\r\n{"reason":"Forbidden"}'
    client, thread, _received = serve(refused)
    with pytest.raises(culler.CullerError, match=r"exec refused: HTTP/1\.1 403 Forbidden"):
        culler.read_exec_stream(client)
    client.close()
    thread.join()


def test_docker_stream_is_demultiplexed(culler):
    data = b"\x01\x00\x00\x00" + struct.pack(">I", 5) + b"hello" + b"\x02\x00\x00\x00" + struct.pack(">I", 3) + b"bad"
    assert culler.demultiplex(data) == ("hello", "bad")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-01-02T03:04:05Z", 1767323045.0),
        ("2026-01-02T03:04:05.123456789Z", 1767323045.0),
        ("0001-01-01T00:00:00Z", None),
    ],
)
def test_times_are_read(culler, text, seconds):
    assert culler.parse_time(text) == seconds
