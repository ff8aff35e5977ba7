"""Benchmark: reconcile N desktops with desktops.yml against `kubectl apply` of the same manifests, on a real
Kubernetes API server.

    .venv/bin/python benchmarks/desktops_bench.py [--users 100 1000] [--rounds 1]

Both sides talk to their own fresh control plane (tests/kubeapi: etcd, kube-apiserver, kube-controller-manager
and kube-scheduler of the k3s stand-in, on loopback, with TLS and client certificates) and do the same work on
the same objects: two Namespaces and, per user, a Secret, a PersistentVolumeClaim, a Deployment, a Service, an
Ingress and a NetworkPolicy. Each side's API requests are counted from the API server's audit log (every
request of the admin user both sides use).

- ansible: `ansible-playbook playbooks/desktops.yml` (DNS off: Route53 has no kubectl counterpart), a first
  run that creates everything, then a second run with nothing to change. The whole process is timed:
  Python start-up, inventory, checks, planning and the API calls.
- kubectl: the manifests the role renders (cloud_desktop_render_only, same templates; Secrets carry
  placeholders instead of generated passwords), applied with `kubectl apply` (the kubectl linked into the
  k3s stand-in, the same release as the API server), once to create and once with nothing to change. Its
  discovery cache is fresh for the first run and warm for the second, as kubernetes.core's is on the ansible
  side.

Rounds alternate the two sides; medians and their ratios are printed and written to
benchmarks/results/desktops.json. Target: the no-change run within 1.5x of kubectl's, and a no-change run
whose request count does not grow with the number of users. The machine's other load shows in the
numbers: run it on a quiet box.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import yaml  # noqa: E402  (after the path setup above, with the API-tier fixture)
from kubeapi import ControlPlane, k3s_binary  # noqa: E402

AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
    users: ["system:admin"]
  - level: None
"""

VENV_BIN = Path(sys.executable).parent
TARGET_NO_CHANGE_RATIO = 1.5


def users(count):
    # a tenth of the desktops in dev, a few with more memory, as a lab's list looks
    return [
        dict(
            {"name": "student%03d" % i},
            **({"environment": "dev"} if i % 10 == 0 else {}),
            **({"memory": "6Gi"} if i % 7 == 0 else {}),
        )
        for i in range(count)
    ]


def inventory(path, kubeconfig, desktops, extra=None):
    variables = dict(
        {"cloud_desktop_domain": "ros.example.org", "roverlab_kubeconfig": str(kubeconfig), "desktop_users": desktops},
        **(extra or {}),
    )
    localhost = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    path.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": localhost}, "vars": variables}}))
    return path


def timed(command, env, label):
    start = time.monotonic()
    proc = subprocess.run(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    seconds = time.monotonic() - start
    if proc.returncode:
        sys.exit("%s failed (exit %d):\n%s" % (label, proc.returncode, proc.stdout[-4000:]))
    return seconds, proc.stdout


def ansible_env(tmp):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", TMPDIR=str(tmp))
    env["PATH"] = "%s:%s" % (VENV_BIN, env.get("PATH", ""))
    for name in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG"):
        env.pop(name, None)
    return env


def playbook(inventory_path):
    return [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory_path), "playbooks/desktops.yml"]


def render(workdir, desktops):
    """The manifests the role applies, written by the role itself."""
    out = workdir / "rendered"
    inv = inventory(
        workdir / "render.yml",
        workdir / "none",
        desktops,
        {"cloud_desktop_render_only": True, "cloud_desktop_render_dir": str(out)},
    )
    timed(playbook(inv), ansible_env(workdir), "rendering the manifests")
    files = [out / "namespaces.yaml", out / "secrets.yaml", out / "desktops.yaml"]
    count = sum(1 for f in files for doc in yaml.safe_load_all(f.read_text()) if doc)
    return files, count


def control_plane(directory):
    directory.mkdir(parents=True, exist_ok=True)
    policy = directory / "audit-policy.yaml"
    policy.write_text(AUDIT_POLICY)
    audit = directory / "audit.log"
    extra = [
        "--kube-apiserver-arg=audit-policy-file=%s" % policy,
        "--kube-apiserver-arg=audit-log-path=%s" % audit,
    ]
    return ControlPlane(directory / "kube", extra), audit


def requests(audit):
    """Requests the admin user made so far (one audit event per request)."""
    if not audit.exists():
        return 0
    with open(audit, "rb") as log:
        return sum(1 for _line in log)


def counted(audit, command, env, label):
    before = requests(audit)
    seconds, output = timed(command, env, label)
    time.sleep(1.5)  # the audit log is written asynchronously, in batches
    return seconds, requests(audit) - before, output


def round_ansible(workdir, desktops):
    kube, audit = control_plane(workdir / "ansible")
    with kube:
        inv = inventory(workdir / "inventory.yml", kube.kubeconfig, desktops)
        env = ansible_env(workdir / "tmp")
        (workdir / "tmp").mkdir(exist_ok=True)
        create, create_requests, _out = counted(audit, playbook(inv), env, "ansible first run")
        again, again_requests, out2 = counted(audit, playbook(inv), env, "ansible second run")
    if "changed=0" not in out2.splitlines()[-2]:
        sys.exit("the second ansible run changed something:\n%s" % out2[-3000:])
    return (create, create_requests), (again, again_requests)


def round_kubectl(workdir, kubectl, files):
    kube, audit = control_plane(workdir / "kubectl")
    with kube:
        cache = workdir / "kubectl-cache"
        command = [*kubectl, "--kubeconfig", str(kube.kubeconfig), "--cache-dir", str(cache), "apply"]
        for f in files:
            command += ["-f", str(f)]
        env = dict(os.environ)
        create, create_requests, _out = counted(audit, command, env, "kubectl first run")
        again, again_requests, out2 = counted(audit, command, env, "kubectl second run")
    if any(not line.endswith(" unchanged") for line in out2.splitlines() if line.strip()):
        sys.exit("kubectl's second run changed something:\n%s" % out2[-3000:])
    return (create, create_requests), (again, again_requests)


def kubectl_version(kubectl):
    out = subprocess.run([*kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, check=False)
    try:
        return json.loads(out.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        return "unknown"


def bench(count, rounds, kubectl, tmp):
    desktops = users(count)
    Path(tmp).mkdir(parents=True, exist_ok=True)
    results = {key: [] for key in ("ansible_create", "ansible_no_change", "kubectl_create", "kubectl_no_change")}
    calls = {key: [] for key in results}
    files, objects = render(Path(tmp), desktops)
    print("desktops_bench: %d users, %d objects per run" % (count, objects), flush=True)
    for n in range(rounds):
        workdir = Path(tmp) / ("users%d-round%d" % (count, n))
        workdir.mkdir()
        for side in ("ansible", "kubectl"):
            if side == "ansible":
                (create, create_calls), (again, again_calls) = round_ansible(workdir, desktops)
            else:
                (create, create_calls), (again, again_calls) = round_kubectl(workdir, kubectl, files)
            results[side + "_create"].append(create)
            results[side + "_no_change"].append(again)
            calls[side + "_create"].append(create_calls)
            calls[side + "_no_change"].append(again_calls)
            print(
                "round %d: %s create %.1f s (%d requests), no change %.1f s (%d requests)"
                % (n + 1, side, create, create_calls, again, again_calls),
                flush=True,
            )
    medians = {k: statistics.median(v) for k, v in results.items() if v}
    requests_medians = {k: statistics.median(v) for k, v in calls.items() if v}
    report = {
        "users": count,
        "objects": objects,
        "seconds": results,
        "requests": calls,
        "medians": medians,
        "requests_medians": requests_medians,
    }
    print()
    print(
        "%d users %15s %12s %8s %18s %18s"
        % (count, "ansible", "kubectl", "ratio", "requests ansible", "requests kubectl")
    )
    for phase in ("create", "no_change"):
        ours, theirs = medians["ansible_" + phase], medians["kubectl_" + phase]
        report["ratio_" + phase] = ours / theirs
        print(
            "%-21s %11.1fs %11.1fs %7.2fx %18d %18d"
            % (
                phase.replace("_", " "),
                ours,
                theirs,
                ours / theirs,
                requests_medians["ansible_" + phase],
                requests_medians["kubectl_" + phase],
            )
        )
    verdict = "met" if report["ratio_no_change"] <= TARGET_NO_CHANGE_RATIO else "NOT met"
    print("target: no-change run within %.1fx of kubectl: %s" % (TARGET_NO_CHANGE_RATIO, verdict), flush=True)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    kubectl = [str(k3s_binary()), "kubectl"]
    reports = []
    with tempfile.TemporaryDirectory(prefix="desktops-bench-") as tmp:
        for count in args.users:
            reports.append(bench(count, args.rounds, kubectl, Path(tmp) / ("users%d" % count)))
    if len(reports) > 1:
        first, last = reports[0], reports[-1]
        grows = last["requests_medians"]["ansible_no_change"] > first["requests_medians"]["ansible_no_change"]
        print(
            "no-change requests of the playbook: %d for %d users, %d for %d users: %s"
            % (
                first["requests_medians"]["ansible_no_change"],
                first["users"],
                last["requests_medians"]["ansible_no_change"],
                last["users"],
                "GROWS with the users" if grows else "does not grow with the users",
            )
        )
    report = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "rounds": args.rounds,
        "kubectl": kubectl_version(kubectl),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "runs": reports,
    }
    print("load average during the run: %.1f %.1f %.1f on %d CPUs" % (*report["load_average"], report["cpus"]))
    out = REPO / "benchmarks" / "results" / "desktops.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print("written to %s" % out.relative_to(REPO))


if __name__ == "__main__":
    main()
