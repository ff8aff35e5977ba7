"""Benchmark: reconcile N desktops with desktops.yml against `kubectl apply` of the same manifests.

    .venv/bin/python benchmarks/desktops_bench.py [--users 100] [--rounds 1]

Both sides talk to their own fresh fake API server (tests/fakekube, the project's stand-in for
kube-apiserver, controllers on) and do the same work on the same objects: two Namespaces and, per user, a
Secret, a PersistentVolumeClaim, a Deployment, a Service, an Ingress and a NetworkPolicy.

- ansible: `ansible-playbook playbooks/desktops.yml` (DNS off: Route53 has no kubectl counterpart), a first
  run that creates everything, then a second run with nothing to change. The whole process is timed:
  Python start-up, inventory, checks, planning and the API calls.
- kubectl: the manifests the role renders (cloud_desktop_render_only, same templates; Secrets carry
  placeholders instead of generated passwords), applied with `kubectl apply --validate=false` (the fake
  serves no OpenAPI document), once to create and once with nothing to change. Its discovery cache is
  fresh for the first run and warm for the second, as kubernetes.core's is on the ansible side.

Rounds alternate the two sides; medians and their ratios are printed and written to
benchmarks/results/desktops.json. Target: the no-change run within 1.5x of kubectl's. kubectl comes from
PATH (--kubectl to name one); without it the benchmark says so and measures only the ansible side. The
machine's other load shows in the numbers: run it on a quiet box.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import yaml  # noqa: E402  (after the path setup above, with the fake API server)
from fakekube.testing import FakeKube  # noqa: E402

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


def round_ansible(workdir, desktops):
    with FakeKube(workdir / "fakekube-ansible") as api:
        inv = inventory(workdir / "inventory.yml", api.kubeconfig, desktops)
        env = ansible_env(workdir / "tmp")
        (workdir / "tmp").mkdir(exist_ok=True)
        create = timed(playbook(inv), env, "ansible first run")[0]
        again, out2 = timed(playbook(inv), env, "ansible second run")
    if "changed=0" not in out2.splitlines()[-2]:
        sys.exit("the second ansible run changed something:\n%s" % out2[-3000:])
    return create, again


def round_kubectl(workdir, kubectl, files):
    with FakeKube(workdir / "fakekube-kubectl") as api:
        cache = workdir / "kubectl-cache"
        command = [kubectl, "--kubeconfig", str(api.kubeconfig), "--cache-dir", str(cache), "apply", "--validate=false"]
        for f in files:
            command += ["-f", str(f)]
        env = dict(os.environ)
        create = timed(command, env, "kubectl first run")[0]
        again, out2 = timed(command, env, "kubectl second run")
    if any(not line.endswith(" unchanged") for line in out2.splitlines() if line.strip()):
        sys.exit("kubectl's second run changed something:\n%s" % out2[-3000:])
    return create, again


def kubectl_version(kubectl):
    out = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, check=False
    ).stdout
    try:
        return json.loads(out)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--kubectl", default=shutil.which("kubectl"))
    args = parser.parse_args()

    desktops = users(args.users)
    results = {"ansible_create": [], "ansible_no_change": [], "kubectl_create": [], "kubectl_no_change": []}
    with tempfile.TemporaryDirectory(prefix="desktops-bench-") as tmp:
        files, objects = render(Path(tmp), desktops)
        print("desktops_bench: %d users, %d objects per run" % (args.users, objects), flush=True)
        if not args.kubectl:
            print(
                "kubectl not found on PATH (or --kubectl): the kubectl baseline cannot run here, "
                "only the ansible side is measured; install kubectl to get the ratios."
            )
        for n in range(args.rounds):
            workdir = Path(tmp) / ("round%d" % n)
            workdir.mkdir()
            create, again = round_ansible(workdir, desktops)
            results["ansible_create"].append(create)
            results["ansible_no_change"].append(again)
            print("round %d: ansible create %.1f s, no change %.1f s" % (n + 1, create, again), flush=True)
            if args.kubectl:
                create, again = round_kubectl(workdir, args.kubectl, files)
                results["kubectl_create"].append(create)
                results["kubectl_no_change"].append(again)
                print("round %d: kubectl create %.1f s, no change %.1f s" % (n + 1, create, again), flush=True)

    medians = {k: statistics.median(v) for k, v in results.items() if v}
    report = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "users": args.users,
        "objects": objects,
        "rounds": args.rounds,
        "kubectl": kubectl_version(args.kubectl) if args.kubectl else None,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "seconds": results,
        "medians": medians,
    }
    print()
    print("%-22s %12s %12s %8s" % ("", "ansible", "kubectl", "ratio"))
    for phase in ("create", "no_change"):
        ours, theirs = medians["ansible_" + phase], medians.get("kubectl_" + phase)
        ratio = ours / theirs if theirs else None
        report["ratio_" + phase] = ratio
        print(
            "%-22s %11.1fs %12s %8s"
            % (phase.replace("_", " "), ours, "%.1fs" % theirs if theirs else "-", "%.2fx" % ratio if ratio else "-")
        )
    if report.get("ratio_no_change") is not None:
        verdict = "met" if report["ratio_no_change"] <= TARGET_NO_CHANGE_RATIO else "NOT met"
        print("target: no-change run within %.1fx of kubectl: %s" % (TARGET_NO_CHANGE_RATIO, verdict))
    print("load average during the run: %.1f %.1f %.1f on %d CPUs" % (*report["load_average"], report["cpus"]))
    out = REPO / "benchmarks" / "results" / "desktops.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print("written to %s" % out.relative_to(REPO))


if __name__ == "__main__":
    main()
