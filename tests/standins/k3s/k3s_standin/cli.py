"""`k3s` command line of the stand-in: --version, server, agent, kubectl."""

import base64
import gzip
import json
import os
import pkgutil
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from k3s_standin import config, containerd, node, process, supervisor, versions
from k3s_standin.process import log

DATA_DIR = containerd.DATA_DIR
SERVER_DIR = DATA_DIR + "/server"
CA_FILE = SERVER_DIR + "/tls/server-ca.crt"
TOKEN_FILE = SERVER_DIR + "/token"
NODE_TOKEN_FILE = SERVER_DIR + "/node-token"
IMAGES_DIR = containerd.AGENT_DIR + "/images"
CONTAINERD_STATE = "/run/k3s/containerd"
CONTAINERD_SOCKET = CONTAINERD_STATE + "/containerd.sock"
KUBECONFIG = "/etc/rancher/k3s/k3s.yaml"
HEARTBEAT_SECONDS = 10
STANDIN_NOTE = "k3s stand-in (roverlab test double, NOT the real k3s)"

KUBECONFIG_TEMPLATE = """apiVersion: v1
clusters:
- cluster:
    server: {url}
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {{}}
users:
- name: default
  user:
    token: the-k3s-stand-in-has-no-authentication
"""


def build_info():
    return json.loads(pkgutil.get_data("k3s_standin", "build.json"))


def print_version():
    info = build_info()
    print("k3s version %s (%s)" % (info["version"], info["commit"]))
    print("stand-in: %s; runs Debian's containerd and the project's fake Kubernetes API" % STANDIN_NOTE)
    return 0


# --- server -------------------------------------------------------------------------------------------


def _server_token(settings):
    """The cluster password: kept from the first start, like k3s's bootstrap data."""
    if not os.path.exists(CA_FILE):
        blob = base64.encodebytes(b"k3s stand-in cluster CA (not a certificate) " + secrets.token_bytes(48))
        process.write_private(
            CA_FILE, "-----BEGIN CERTIFICATE-----\n%s-----END CERTIFICATE-----\n" % blob.decode(), 0o644
        )
    with open(CA_FILE, encoding="utf-8") as f:
        ca_pem = f.read()
    configured = settings.get("token")
    if not configured and settings.get("token-file"):
        with open(settings["token-file"], encoding="utf-8") as f:
            configured = f.read().strip()
    configured_password = supervisor.split_token(str(configured))[1] if configured else None
    if os.path.exists(TOKEN_FILE):
        with open(TOKEN_FILE, encoding="utf-8") as f:
            password = supervisor.split_token(f.read().strip())[1]
        if configured_password and configured_password != password:
            raise config.ConfigError(
                "bootstrap data already found and encrypted with different token: the token in config.yaml "
                "is not the one this server was created with (use `k3s token rotate` on a real server)"
            )
    else:
        password = configured_password or secrets.token_hex(16)
    full = supervisor.full_token(ca_pem, password)
    process.write_private(TOKEN_FILE, full + "\n")
    process.write_private(NODE_TOKEN_FILE, full + "\n")
    return ca_pem, password


def _start_fake_api(children, version):
    fakekube = children.start(
        "fakekube",
        [
            sys.executable,
            os.path.abspath(sys.argv[0]),
            "__fakekube",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--kube-version",
            versions.kube_version(version),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = fakekube.stdout.readline().strip()
    if not line.startswith("fakekube listening on "):
        raise RuntimeError("the fake Kubernetes API did not start (said %r)" % line)
    return int(line.rsplit(":", 1)[1])


def server(version):
    settings = config.load("server", version)
    children = process.Children()
    _stop_children_on_exit(children)
    ca_pem, password = _server_token(settings)
    api_port = _start_fake_api(children, version)
    port = int(settings.get("https-listen-port", 6443))
    supervisor.Supervisor(settings.get("bind-address", "0.0.0.0"), port, api_port, ca_pem, password, version).start()
    mode = int(str(settings.get("write-kubeconfig-mode", "0600")), 8)
    process.write_private(
        settings.get("write-kubeconfig", KUBECONFIG), KUBECONFIG_TEMPLATE.format(url="http://127.0.0.1:%d" % port), mode
    )
    log("API (fake, plain HTTP) on :%d; admin kubeconfig %s" % (port, settings.get("write-kubeconfig", KUBECONFIG)))
    return run_node("server", settings, version, "http://127.0.0.1:%d" % port, children)


# --- agent --------------------------------------------------------------------------------------------


def agent(version):
    settings = config.load("agent", version)
    server_url = settings.get("server") or os.environ.get("K3S_URL")
    token = settings.get("token") or os.environ.get("K3S_TOKEN")
    if not token and settings.get("token-file"):
        with open(settings["token-file"], encoding="utf-8") as f:
            token = f.read().strip()
    if not server_url or not token:
        raise config.ConfigError("an agent needs --server and --token (config.yaml keys server and token)")
    # the stand-in's server speaks plain HTTP on the port real k3s serves TLS on
    if not server_url.startswith(("https://", "http://")):
        raise config.ConfigError("server must be an https:// URL, got %r" % server_url)
    url = server_url.replace("https://", "http://", 1).rstrip("/")
    expected_hash, password = supervisor.split_token(str(token))
    ca_pem = _wait_for_server(url)
    if expected_hash and supervisor.ca_hash(ca_pem) != expected_hash:
        raise config.ConfigError(
            "token CA hash does not match the Cluster CA certificate hash: %s != %s"
            % (expected_hash, supervisor.ca_hash(ca_pem))
        )
    request = urllib.request.Request(url + "/v1-k3s/config")  # noqa: S310 - http(s), checked in agent()
    request.add_header("Authorization", "Basic " + base64.b64encode(("node:%s" % password).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - http URL from config
            pass
    except urllib.error.HTTPError as exc:
        raise config.ConfigError("the server at %s rejected the token (%s)" % (server_url, exc.code)) from exc
    children = process.Children()
    _stop_children_on_exit(children)
    return run_node("agent", settings, version, url, children)


def _wait_for_server(url):
    while True:
        try:
            with urllib.request.urlopen(url + "/cacerts", timeout=5) as answer:  # noqa: S310
                return answer.read().decode()
        except (OSError, urllib.error.URLError) as exc:
            log("Waiting to retrieve agent configuration; server is not ready: %s" % exc)
            time.sleep(2)


# --- what every node runs -----------------------------------------------------------------------------


def run_node(role, settings, version, api_url, children):
    name = settings.get("node-name") or socket.gethostname().lower()
    runtime_version = start_containerd(version, settings, children)
    api = node.Api(api_url)
    node_object = node.build(name, role, version, settings, runtime_version)
    outcome = process.wait_for(lambda: _try_register(api, node_object), 60, "node %s to register" % name)
    log("node %s %s (%s)" % (name, outcome, version))
    process.notify_systemd("READY=1")
    while True:
        time.sleep(HEARTBEAT_SECONDS)
        dead = children.dead()
        if dead:
            log("%s exited with status %s; stopping" % dead)
            children.stop()
            return 1
        node_object["status"] = node.build(name, role, version, settings, runtime_version)["status"]
        _try_register(api, node_object)


def _try_register(api, node_object):
    try:
        return node.register_or_refresh(api, node_object)
    except (OSError, RuntimeError, ValueError) as exc:
        log("node status: %s" % exc)
        return None


def start_containerd(version, settings, children):
    text, generation, template = containerd.render_config(version, settings.get("default-runtime"))
    path = os.path.join(containerd.CONTAINERD_CONFIG_DIR, "config.toml")
    process.write_private(path, text)
    log(
        "containerd config %s rendered from %s (config version %d)"
        % (path, template or "the base template", generation)
    )
    import tomllib  # Python 3.11, as on the Debian 12 nodes

    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise containerd.ContainerdConfigError("containerd: failed to load TOML: %s: %s" % (path, exc)) from exc
    if generation == 3:
        # Debian's containerd 1.6 silently ignores a version 3 config: running it would prove nothing
        log("stand-in boundary: containerd 2 (config version 3) is not available here; containerd not started")
        return "containerd://2.0 (config version 3, not run by the k3s stand-in)"
    binary = shutil.which("containerd")
    if not binary:
        raise containerd.ContainerdConfigError(
            "containerd is not installed: the stand-in runs Debian's containerd where k3s runs its own"
        )
    root = os.path.join(containerd.AGENT_DIR, "containerd")
    os.makedirs(root, exist_ok=True)
    os.makedirs(CONTAINERD_STATE, exist_ok=True)
    with open(os.path.join(root, "containerd.log"), "ab") as output:
        children.start(
            "containerd",
            [binary, "--config", path, "--address", CONTAINERD_SOCKET, "--state", CONTAINERD_STATE, "--root", root],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    process.wait_for(lambda: _ctr("version", check=False).returncode == 0, 30, "containerd")
    _import_images()
    reported = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout.split()
    return "containerd://%s" % (reported[2] if len(reported) > 2 else "unknown")


def _ctr(*args, check=True):
    return subprocess.run(
        ["ctr", "--address", CONTAINERD_SOCKET, "--namespace", "k8s.io", *args],
        capture_output=True,
        text=True,
        check=check,
    )


def _import_images():
    if not os.path.isdir(IMAGES_DIR):
        return
    for name in sorted(os.listdir(IMAGES_DIR)):
        path = os.path.join(IMAGES_DIR, name)
        with tempfile.TemporaryDirectory() as scratch:
            if name.endswith(".tar.gz"):
                plain = os.path.join(scratch, "images.tar")
                with gzip.open(path) as source, open(plain, "wb") as target:
                    shutil.copyfileobj(source, target)
            elif name.endswith(".tar.zst"):
                plain = os.path.join(scratch, "images.tar")
                subprocess.run(["zstd", "-q", "-d", path, "-o", plain], check=True)
            elif name.endswith(".tar"):
                plain = path
            else:
                continue
            result = _ctr("images", "import", plain, check=False)
            if result.returncode:
                raise containerd.ContainerdConfigError("importing %s failed: %s" % (path, result.stderr.strip()))
            log("imported images from %s" % path)


def _stop_children_on_exit(children):
    def stop(signum, frame):
        children.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


# --- entry point --------------------------------------------------------------------------------------


def _fakekube(argv):
    from fakekube.__main__ import main as fakekube_main

    return fakekube_main(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else "--help"
    if command in ("--version", "-v", "version"):
        return print_version()
    if command == "kubectl":
        from k3s_standin import kubectl

        return kubectl.main(argv[1:])
    if command == "__fakekube":
        return _fakekube(argv[1:])
    if command in ("server", "agent"):
        if len(argv) > 1:
            print(
                "k3s stand-in: flags on the command line are not supported; use /etc/rancher/k3s/config.yaml",
                file=sys.stderr,
            )
            return 1
        version = build_info()["version"]
        log("%s %s starting" % (STANDIN_NOTE, version))
        try:
            return server(version) if command == "server" else agent(version)
        except (config.ConfigError, containerd.ContainerdConfigError, RuntimeError) as exc:
            log("level=fatal msg=%r" % str(exc))
            return 1
    print(
        "%s: `k3s %s` is not implemented; it has --version, server, agent, kubectl" % (STANDIN_NOTE, " ".join(argv)),
        file=sys.stderr,
    )
    return 1
