"""The API tier of the tests: a real Kubernetes control plane on loopback, like controller-runtime's envtest.

`ControlPlane(directory)` starts `k3s server --disable-agent` from the k3s stand-in (tests/standins/k3s):
embedded etcd, kube-apiserver, kube-controller-manager and kube-scheduler, the upstream components built from
their Go modules, on a free loopback port with a fresh data directory, real TLS and client-certificate
authentication (an admin kubeconfig is written), RBAC and admission. There are no kubelets: a test registers
Node objects through the API as a kubelet would (`Api.add_node`), and may have the pods bound to those nodes
reported as running and, once deleted, removed (`Api.start_pods` once, `Api.run_kubelets` in the background:
the kubelet's status reports and its final delete, nothing else; a STAND-IN for the kubelets).
kube-controller-manager runs without its node-lifecycle controller, which would otherwise mark those nodes
unreachable after 50 s without a kubelet heartbeat. The server is stopped, and its directory left for
the test's logs, when the `with` block ends.
"""

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import testkit  # tests/ is on sys.path for every importer of kubeapi

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ROVERLAB_CACHE", REPO / ".cache"))
BIN_DIR = CACHE / "go" / "bin"
BUILD = REPO / "tests" / "standins" / "k3s" / "build.py"
_built = None


def k3s_binary():
    """The k3s stand-in binary, built (or found up to date) once per process; concurrent builds wait.
    ROVERLAB_K3S_BINARY names a binary built beforehand instead."""
    global _built
    if _built is None and os.environ.get("ROVERLAB_K3S_BINARY"):
        _built = Path(os.environ["ROVERLAB_K3S_BINARY"])
    if _built is None:
        BIN_DIR.mkdir(parents=True, exist_ok=True)
        with open(BIN_DIR / ".build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            done = subprocess.run(
                [sys.executable, str(BUILD), "--quiet", "--binary-only", str(BIN_DIR)],
                capture_output=True,
                text=True,
                check=False,
            )
        if done.returncode:
            raise RuntimeError("building the k3s stand-in failed:\n%s%s" % (done.stdout, done.stderr[-4000:]))
        _built = BIN_DIR / "k3s"
    return _built


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# field managers of the controllers (k3s's controllers write as "k3s", upstream's under their binary's name)
CONTROLLER_MANAGERS = ("k3s", "kube-controller-manager")
# annotations that controllers, not clients, put on objects
CONTROLLER_ANNOTATIONS = (
    "deployment.kubernetes.io/",
    "pv.kubernetes.io/",
    "volume.kubernetes.io/",
    "volume.beta.kubernetes.io/",
)


def client_fingerprint(item):
    """A digest of what clients wrote to ITEM (see Api.all_objects)."""
    meta = dict(item["metadata"])
    meta.pop("resourceVersion", None)
    meta["annotations"] = {
        key: value
        for key, value in (meta.get("annotations") or {}).items()
        if not key.startswith(CONTROLLER_ANNOTATIONS)
    }
    meta["managedFields"] = [
        entry
        for entry in meta.get("managedFields") or []
        if entry.get("manager") not in CONTROLLER_MANAGERS and entry.get("subresource") != "status"
    ]
    kept = {key: value for key, value in item.items() if key not in ("status", "metadata")}
    kept["metadata"] = meta
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler from the k3s stand-in, on loopback."""

    def __init__(self, directory, extra_args=()):
        self.directory = Path(directory)
        self.extra_args = list(extra_args)
        self.port = None
        self.process = None
        self.kubeconfig = self.directory / "kubeconfig.yaml"
        self.log = self.directory / "k3s.log"

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def tls_dir(self):
        return self.directory / "data" / "server" / "tls"

    def __enter__(self):
        binary = k3s_binary()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        command = [
            str(binary),
            "server",
            "--disable-agent",
            "--config=%s" % (self.directory / "no-config.yaml"),
            "--data-dir=%s" % (self.directory / "data"),
            "--bind-address=127.0.0.1",
            "--https-listen-port=%d" % self.port,
            "--write-kubeconfig=%s" % self.kubeconfig,
            "--etcd-arg=unsafe-no-fsync=true",
            "--kube-controller-manager-arg=controllers=*,tokencleaner,-node-lifecycle-controller",
            *self.extra_args,
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        api = None
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("k3s server exited (%s):\n%s" % (self.process.returncode, self.tail()))
            if self.kubeconfig.exists():
                try:
                    api = api or Api(self)
                    # the StorageClass comes last in the server's start-up: after it, the cluster is set up
                    if api.get("/apis/storage.k8s.io/v1/storageclasses/local-path"):
                        return
                except (OSError, AssertionError):
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("k3s server not ready after %d s:\n%s" % (timeout, self.tail()))
            time.sleep(0.3)

    def tail(self, lines=40):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def __exit__(self, *exc):
        self.stop()


def _from_kubeconfig(path):
    """The server URL and an SSL context with the CA and client certificate of the kubeconfig at PATH."""
    import tempfile

    import yaml

    config = yaml.safe_load(Path(path).read_text())
    context_name = config["current-context"]
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    ssl_context = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    with tempfile.TemporaryDirectory() as scratch:
        cert, key = Path(scratch) / "client.crt", Path(scratch) / "client.key"
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        ssl_context.load_cert_chain(str(cert), str(key))
    return cluster["server"], ssl_context


class Api:
    """Just enough of a client to look at what the playbooks left in the API server (admin credentials)."""

    def __init__(self, control_plane=None, kubeconfig=None):
        self.control_plane = control_plane
        if control_plane is not None:
            self.url = control_plane.url
            self.kubeconfig = control_plane.kubeconfig
            tls = control_plane.tls_dir
            self.context = ssl.create_default_context(cafile=str(tls / "ca.crt"))
            self.context.load_cert_chain(str(tls / "client-admin.crt"), str(tls / "client-admin.key"))
        else:
            self.kubeconfig = Path(kubeconfig)
            self.url, self.context = _from_kubeconfig(self.kubeconfig)

    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as answer:  # noqa: S310
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and method == "GET":
                return None
            raise AssertionError(
                "%s %s: %s %s" % (method, path, exc.code, exc.read().decode(errors="replace"))
            ) from exc

    def get(self, path):
        return self.request("GET", path)

    def items(self, path):
        return (self.get(path) or {}).get("items", [])

    def create(self, path, body):
        return self.request("POST", path, body)

    def patch_status(self, path, status):
        return self.request("PATCH", path + "/status", {"status": status}, "application/merge-patch+json")

    def names(self, path):
        return sorted(item["metadata"]["name"] for item in self.items(path))

    def secret_value(self, namespace, name, key):
        secret = self.get("/api/v1/namespaces/%s/secrets/%s" % (namespace, name))
        return base64.b64decode(secret["data"][key]).decode()

    def add_node(self, name, gpus=0, cpu="24", memory="32Gi", labels=None, taints=None):
        """Register a Node and report its status, as a kubelet (and, for GPUs, the device plugin) would."""
        allocatable = {"cpu": cpu, "memory": memory, "pods": "110", "ephemeral-storage": "100Gi"}
        if gpus:
            allocatable["nvidia.com/gpu"] = str(gpus)
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": dict({"kubernetes.io/hostname": name}, **(labels or {}))},
            "spec": {"taints": taints} if taints else {},
        }
        created = self.create("/api/v1/nodes", node)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.patch_status(
            "/api/v1/nodes/%s" % name,
            {
                "capacity": allocatable,
                "allocatable": allocatable,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "registered by the test (no kubelet in the API tier)",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    }
                ],
                "addresses": [{"type": "Hostname", "address": name}],
            },
        )
        return created

    def run_kubelets(self):
        """Until the control plane stops: report pods bound to a node as running, and finish deleting the
        ones being deleted (what each node's kubelet does once their containers stopped)."""
        self._kubelets = True
        thread = threading.Thread(target=self._kubelet_loop, name="kubelet-standin", daemon=True)
        thread.start()

    def _kubelet_loop(self):
        while self.control_plane is None or self.control_plane.process.poll() is None:
            with contextlib.suppress(OSError, AssertionError):
                self.kubelet_pass()
            time.sleep(0.5)

    def kubelet_pass(self):
        for pod in self.items("/api/v1/pods"):
            meta, spec = pod["metadata"], pod["spec"]
            if not spec.get("nodeName"):
                continue
            path = "/api/v1/namespaces/%s/pods/%s" % (meta["namespace"], meta["name"])
            if meta.get("deletionTimestamp"):
                self.request("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0})
            elif pod.get("status", {}).get("phase") != "Running":
                self._report_running(pod)

    def start_pods(self, timeout=60):
        """STAND-IN for the kubelets of the registered nodes: report every pod bound to a node as running
        (phase, Ready condition, container statuses), as a kubelet does once its containers run.

        Returns once every Deployment has its replicas' pods and all of them are bound: the ReplicaSet controller
        makes the pods a moment after the Deployment is applied, and a pod made after the return would stay
        unreported (a desktop list then showed it without its node)."""
        deadline = time.monotonic() + timeout
        while True:
            wanted = sum(d["spec"].get("replicas", 1) for d in self.items("/apis/apps/v1/deployments"))
            pods = [p for p in self.items("/api/v1/pods") if not p["metadata"].get("deletionTimestamp")]
            pending = [p["metadata"]["name"] for p in pods if not p["spec"].get("nodeName")]
            for pod in pods:
                if pod["spec"].get("nodeName") and pod.get("status", {}).get("phase") != "Running":
                    self._report_running(pod)
            if not pending and len(pods) >= wanted:
                return
            if time.monotonic() > deadline:
                raise AssertionError("pods not scheduled: %s; %d pod(s) of %d wanted" % (pending, len(pods), wanted))
            time.sleep(0.5)

    def _report_running(self, pod):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        meta = pod["metadata"]
        statuses = [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }
            for c in pod["spec"]["containers"]
        ]
        conditions = [
            {"type": kind, "status": "True", "lastTransitionTime": now}
            for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        ]
        self.patch_status(
            "/api/v1/namespaces/%s/pods/%s" % (meta["namespace"], meta["name"]),
            {"phase": "Running", "conditions": conditions, "containerStatuses": statuses, "startTime": now},
        )

    def wait_for(self, check, what, timeout=60):
        return testkit.wait_for(check, timeout, interval=0.3, what=what)

    def all_objects(self):
        """(kind, namespace, name, fingerprint) of everything a test might have changed.

        The fingerprint covers what a client writes: the object without its status and resourceVersion, and
        without what kube-controller-manager writes on its own after a create (a Deployment's revision
        annotation, the managedFields of its status updates). A resourceVersion alone would also move when the
        deployment controller reports a rollout, which is no change by the collection (it failed a bad-input
        test that ran right after a create).
        """
        found = []
        for path in (
            "/api/v1/namespaces",
            "/api/v1/secrets",
            "/api/v1/persistentvolumeclaims",
            "/api/v1/services",
            "/apis/apps/v1/deployments",
            "/apis/networking.k8s.io/v1/ingresses",
            "/apis/networking.k8s.io/v1/networkpolicies",
            "/api/v1/nodes",
        ):
            for item in self.items(path):
                meta = item["metadata"]
                found.append((path, meta.get("namespace"), meta["name"], client_fingerprint(item)))
        return sorted(found)
