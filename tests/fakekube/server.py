"""HTTP front end: routes kube-apiserver URLs to the ApiServer and answers with JSON (or plain text logs)."""

import json
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import discovery
from .errors import ApiError, bad_request, method_not_allowed, no_such_path
from .options import WriteOptions
from .patches import json_patch, merge_patch
from .scale import to_scale, with_replicas
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from .store import clone
from .watch import DEFAULT_TIMEOUT

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML is optional
    yaml = None

HEALTH_PATHS = ("/healthz", "/readyz", "/livez")
LOG_ANNOTATION = "fakekube.roverlab.io/log"


class ResourceRequest:
    """A request for a resource: its type, namespace, name and subresource (each may be empty)."""

    __slots__ = ("name", "namespace", "rtype", "subresource")

    def __init__(self, rtype, namespace, name, subresource):
        self.rtype = rtype
        self.namespace = namespace
        self.name = name
        self.subresource = subresource


def route(registry, parts):
    """Turn path segments into a ResourceRequest, or None for a group-version root."""
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise no_such_path()
    if not registry.in_group_version(group, version):
        raise no_such_path()
    if not rest:
        return None
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = registry.find(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    rtype = registry.find(group, version, rest[0])
    if rtype is None or len(rest) > 3:
        raise no_such_path()
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else ""
    if subresource and subresource not in rtype.subresources:
        raise no_such_path()
    return ResourceRequest(rtype, namespace, name, subresource)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes; with Nagle on, each response waits for a delayed ACK (~40 ms)
    disable_nagle_algorithm = True
    api = None  # set by make_server
    verbose = False

    def log_message(self, format, *args):
        if self.verbose:
            sys.stderr.write("fakekube: %s\n" % (format % args))

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    # --- plumbing
    def _handle(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        self._raw_body = self.rfile.read(length) if length else b""  # read it all: the connection is kept alive
        try:
            code, body, warnings = self._dispatch(method)
            if code is None:
                return  # a watch: already answered as a stream
        except ApiError as error:
            code, body, warnings = error.code, error.status(), []
        except Exception as error:  # a bug in the fake: answer 500 and say where
            traceback.print_exc()
            code, body, warnings = 500, ApiError(500, "InternalError", "fakekube: %r" % error).status(), []
        self._send(code, body, warnings)

    def _send(self, code, body, warnings):
        if isinstance(body, str):
            data, content_type = body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            data, content_type = json.dumps(body, separators=(",", ":")).encode("utf-8"), "application/json"
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for warning in warnings:
            self.send_header("Warning", '299 - "%s"' % warning.replace('"', '\\"'))
        self.end_headers()
        self.wfile.write(data)

    def _body(self, required=True):
        if not self._raw_body:
            if required:
                raise bad_request("the request body is empty")
            return None
        text = self._raw_body.decode("utf-8")
        try:
            return json.loads(text)
        except ValueError as error:
            if yaml is not None and "yaml" in (self.headers.get("Content-Type") or ""):
                try:
                    return yaml.safe_load(text)
                except yaml.YAMLError as yaml_error:
                    raise bad_request("error decoding YAML: %s" % yaml_error) from None
            raise bad_request("couldn't get version/kind; json parse error: %s" % error) from None

    def _options(self, query):
        return WriteOptions.from_query(query, self.headers.get("User-Agent"))

    # --- routing
    def _dispatch(self, method):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        api = self.api
        if method == "GET":
            if path == "/version":
                return 200, discovery.version_info(api.kube_version), []
            if path in HEALTH_PATHS or path.startswith(tuple(p + "/" for p in HEALTH_PATHS)):
                return 200, "ok", []
            if path == "/api":
                return 200, discovery.api_versions(self.headers.get("Host", "")), []
            with api.lock:
                if path == "/apis":
                    return 200, discovery.api_group_list(api.registry), []
                if len(parts) == 2 and parts[0] == "apis":
                    group = discovery.api_group(api.registry, parts[1])
                    if group is None:
                        raise no_such_path()
                    return 200, group, []
        with api.lock:
            target = route(api.registry, parts)
            if target is None:
                if method != "GET":
                    raise method_not_allowed()
                group, version = (parts[1], parts[2]) if parts[0] == "apis" else ("", parts[1])
                return 200, discovery.resource_list(group, version, api.registry.in_group_version(group, version)), []
            watching = query.get("watch") in ("true", "1")
            if watching:
                if method != "GET" or target.name is not None or target.subresource:
                    raise method_not_allowed()
                stream = self._open_watch(target, query)
            elif target.name is None:
                return self._collection(method, target, query)
            else:
                return self._object(method, target, query)
        self._stream(stream)
        return None, None, None

    # --- watch
    def _open_watch(self, target, query):
        """Check the request and take the starting point of a watch (under the API lock)."""
        api, rtype = self.api, target.rtype
        requirements = parse_label_selector(query.get("labelSelector"))
        checks = parse_field_selector(query.get("fieldSelector"), rtype.kind, rtype.custom)
        try:
            timeout = min(int(query.get("timeoutSeconds") or DEFAULT_TIMEOUT), DEFAULT_TIMEOUT)
        except ValueError:
            raise bad_request("timeoutSeconds must be a number") from None
        namespace = target.namespace if rtype.namespaced else None

        def wanted(obj):
            meta = obj["metadata"]
            if namespace is not None and meta.get("namespace") != namespace:
                return False
            return labels_match(meta.get("labels"), requirements) and fields_match(obj, checks)

        since = query.get("resourceVersion") or "0"
        if since == "0":
            initial = [o for o in api.store.items(rtype, namespace) if wanted(o)]
            after = api.store.revision
        else:
            try:
                after = int(since)
            except ValueError:
                raise bad_request('invalid resource version "%s"' % since) from None
            api.watches.check_revision(after)
            initial = []
        return rtype, wanted, initial, after, time.monotonic() + timeout

    def _stream(self, stream):
        """Answer a watch: chunked JSON events until the timeout (outside the API lock)."""
        rtype, wanted, initial, after, deadline = stream
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for obj in initial:
                self._chunk({"type": "ADDED", "object": obj})
            while True:
                events = self.api.watches.wait_for(rtype, after, deadline)
                if not events:
                    break
                for revision, event_type, obj in events:
                    after = revision
                    if wanted(obj):
                        self._chunk({"type": event_type, "object": obj})
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _chunk(self, event):
        data = json.dumps(event, separators=(",", ":")).encode("utf-8") + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _collection(self, method, target, query):
        api, rtype = self.api, target.rtype
        if rtype.namespaced and target.namespace is None and method != "GET":
            raise no_such_path()
        if method == "GET":
            listed = api.list(rtype, target.namespace, query.get("labelSelector"), query.get("fieldSelector"))
            return 200, listed, []
        if method == "POST":
            obj, warnings = api.create(rtype, target.namespace, self._body(), self._options(query))
            return 201, obj, warnings
        if method == "DELETE":
            listed = api.delete_collection(
                rtype,
                target.namespace,
                query.get("labelSelector"),
                query.get("fieldSelector"),
                self._options(query),
                self._delete_options(query),
            )
            return 200, listed, []
        raise method_not_allowed()

    def _delete_options(self, query):
        body = self._body(required=False) or {}
        if not isinstance(body, dict):
            raise bad_request("the body of a delete request must be DeleteOptions")
        if query.get("propagationPolicy"):
            body["propagationPolicy"] = query["propagationPolicy"]
        if "All" in (body.get("dryRun") or []):
            query["dryRun"] = "All"
        return body

    def _object(self, method, target, query):
        api, rtype, name, sub = self.api, target.rtype, target.name, target.subresource
        if rtype.namespaced and target.namespace is None:
            raise no_such_path()
        if sub == "log":
            return self._log(method, target, query)
        if sub == "eviction":
            if method != "POST":
                raise method_not_allowed()
            return 201, api.evict(target.namespace, name, self._body(), self._options(query)), []
        if sub == "binding":
            return self._binding(method, target, query)
        if sub == "scale":
            return self._scale(method, target, query)
        if method == "GET":
            return 200, api.get(rtype, target.namespace, name), []
        if method == "PUT":
            obj, warnings = api.replace(rtype, target.namespace, name, self._body(), self._options(query), sub)
            return 200, obj, warnings
        if method == "PATCH":
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            obj, warnings = api.patch(
                rtype, target.namespace, name, content_type, self._body(), self._options(query), sub
            )
            return 200, obj, warnings
        if method == "DELETE" and not sub:
            delete_options = self._delete_options(query)
            answer = api.delete(rtype, target.namespace, name, self._options(query), delete_options)
            return (202 if answer.get("kind") != "Status" else 200), answer, []
        raise method_not_allowed()

    def _log(self, method, target, query):
        if method != "GET":
            raise method_not_allowed()
        pod = self.api.get(target.rtype, target.namespace, target.name)
        containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        container = query.get("container")
        if container is None and len(containers) > 1:
            raise bad_request(
                "a container name must be specified for pod %s, choose one of: [%s]"
                % (target.name, " ".join(containers))
            )
        if container is not None and container not in containers:
            raise bad_request("container %s is not valid for pod %s" % (container, target.name))
        return 200, (pod["metadata"].get("annotations") or {}).get(LOG_ANNOTATION, ""), []

    def _binding(self, method, target, query):
        if method != "POST":
            raise method_not_allowed()
        binding = self._body()
        node = ((binding or {}).get("target") or {}).get("name")
        if not node:
            raise bad_request("a Binding needs target.name")
        api = self.api
        with api.operation():
            pod = api.get(target.rtype, target.namespace, target.name)
            if (pod.get("spec") or {}).get("nodeName"):
                raise ApiError(
                    409, "Conflict", 'pod %s is already assigned to node "%s"' % (target.name, pod["spec"]["nodeName"])
                )
            bound = clone(pod)
            bound["spec"]["nodeName"] = node
            api.replace(target.rtype, target.namespace, target.name, bound, self._options(query))
        return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, []

    def _scale(self, method, target, query):
        api = self.api
        with api.operation():
            obj = api.get(target.rtype, target.namespace, target.name)
            if method == "GET":
                return 200, to_scale(obj), []
            if method == "PUT":
                scale = self._body()
            elif method == "PATCH":
                content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                body = self._body()
                scale = (
                    json_patch(to_scale(obj), body)
                    if content_type.startswith("application/json-patch")
                    else merge_patch(to_scale(obj), body)
                )
            else:
                raise method_not_allowed()
            obj, warnings = api.replace(
                target.rtype, target.namespace, target.name, with_replicas(obj, scale), self._options(query)
            )
        return 200, to_scale(api.get(target.rtype, target.namespace, target.name)), warnings


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(api, host="127.0.0.1", port=0, verbose=False):
    handler = type("BoundHandler", (Handler,), {"api": api, "verbose": verbose})
    return Server((host, port), handler)
