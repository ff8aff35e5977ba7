"""Run every test stage of the collection and print a pytest-style summary.

Called by scripts/test.sh after scripts/setup.sh; run it directly only from the project's venv.

    scripts/test.sh                      all stages
    scripts/test.sh --list               the stages, in order
    scripts/test.sh ruff unit            only these stages
    scripts/test.sh 'molecule-*'         stages matching a glob
    scripts/test.sh -j 1                 one stage at a time (default: 2 at once)

Each stage writes its whole output to .cache/test-logs/<stage>.log; a failed stage also prints its tail.
Benchmark stages (bench-*) run last and alone, one round each, and print their ratio table; their timings
are reported, never asserted. The exit status is 0 only when every selected stage passed.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("ROVERLAB_CACHE", REPO / ".cache"))
LOGS = CACHE / "test-logs"
COLLECTION_PATH = ("roverlab", "clouddesktop")
STAGE_TIMEOUT = 25 * 60
TAIL_LINES = 80
BENCH_TAIL_LINES = 12
PYTEST_FAILURE = re.compile(r"(FAILED|ERROR) \S+\.py")  # pytest's short summary, not Ansible's FAILED - RETRYING
ERROR_WORD = re.compile(r"(?i)\b(error|errors|failed|fatal)\b(?!=)")  # not a recap's failed=0


@dataclass
class Stage:
    name: str
    commands: list = field(default_factory=list)  # argv lists run in order, or callables(log) -> rc
    engine: bool = False  # needs the project's Docker engine and base image
    exclusive: str = ""  # stages with the same non-empty key never run at the same time
    solo: bool = False  # runs after all other stages, with nothing beside it (benchmarks)
    show_tail: int = 0  # lines of the log printed also when the stage passes
    cwd: Path = REPO
    needs: tuple = ()  # build stages that must have passed first (waiting for them is not the stage's time)
    timeout: int = STAGE_TIMEOUT


# --- stage definitions -------------------------------------------------------------------------


def molecule_scenarios():
    return sorted(p.parent.name for p in (REPO / "molecule").glob("*/molecule.yml"))


def integration_areas():
    root = REPO / "tests" / "integration"
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("test_*.py"))) if root.is_dir() else []


def needs_of(directory):
    """The build stages a test directory needs, one name per line of its `.needs` file."""
    path = directory / ".needs"
    return tuple(line.strip() for line in path.read_text().splitlines() if line.strip()) if path.exists() else ()


def timeout_of(directory):
    """A test directory's stage limit in minutes (its `.timeout-minutes` file), else STAGE_TIMEOUT."""
    path = directory / ".timeout-minutes"
    return int(path.read_text().strip()) * 60 if path.exists() else STAGE_TIMEOUT


def all_stages():
    stages = [
        # What several test stages use is built once, first, with a limit of its own (a cold Go build of Kubernetes
        # or a cold image build takes most of a stage's time on a two-core machine); see docs/testing.md.
        Stage("build-k3s", [K3S_BUILD], timeout=BUILD_TIMEOUT),
        Stage("build-desktop-image", [build_desktop_image], engine=True, timeout=BUILD_TIMEOUT),
        Stage("yamllint", [["yamllint", "--strict", "."]]),
        Stage("ruff", [["ruff", "check", "."], ["ruff", "format", "--check", "."]]),
        Stage("ansible-lint", [["ansible-lint", "--nocolor"]]),
        Stage("build", [build_collection]),
        Stage("galaxy-importer", [galaxy_importer]),
        Stage("docs-lint", [DOCS_LINT]),
        Stage("docs-site", [docs_site]),
        Stage("changelog-lint", [["antsibull-changelog", "lint"], CHANGELOG_YAML_LINT]),
        Stage("sanity", [ansible_test_sanity]),
        Stage("unit", [["pytest", "-p", "no:cacheprovider", "-n", "2", "tests/unit"]]),
        Stage("build-tailnet", [TAILNET_BUILD], timeout=BUILD_TIMEOUT),
    ]
    later = []
    for area in integration_areas():
        directory = REPO / "tests" / "integration" / area
        stage = Stage(
            "integration-%s" % area,
            [["pytest", "-p", "no:cacheprovider", "-v", "tests/integration/%s" % area]],
            engine=(directory / ".needs-engine").exists(),
            needs=needs_of(directory),
            timeout=timeout_of(directory),
        )
        (later if stage.needs else stages).append(stage)
    for scenario in molecule_scenarios():
        needs = needs_of(REPO / "molecule" / scenario)
        stage = Stage("molecule-%s" % scenario, [["molecule", "test", "-s", scenario]], engine=True, needs=needs)
        (later if needs else stages).append(stage)
    # stages that wait for a build go after the others, so that a waiting stage rarely holds a worker
    stages.extend(later)
    for bench in sorted((REPO / "benchmarks").glob("*_bench.py")):
        name = bench.name[: -len("_bench.py")]
        command = [sys.executable, str(bench.relative_to(REPO)), "--rounds", "1", *BENCH_ARGS.get(name, ())]
        stages.append(
            Stage("bench-%s" % name, [command], solo=True, engine=name in BENCH_ENGINE, show_tail=BENCH_TAIL_LINES)
        )
    return stages


def collection_files():
    """The files of the collection as git sees them (tracked plus new, never ignored ones)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    # collections/ is the checkout's link to itself (see ansible.cfg); it is not part of the collection
    return [f for f in out.split("\0") if f and not f.startswith("collections/") and (REPO / f).exists()]


def copy_collection(dest):
    """Copy the collection to DEST, a path ending in ansible_collections/roverlab/clouddesktop."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    listing = "\n".join(collection_files()) + "\n"
    subprocess.run(["rsync", "-a", "--files-from=-", "./", str(dest)], cwd=REPO, input=listing.encode(), check=True)


def build_tarball(log, stage):
    """Build the collection tarball from a copy of the collection's files; returns (rc, tarball, cleanup dirs)."""
    # per-run, per-stage directories: two test runs on one machine, or two stages, must not share a copy
    key = "%s-%d" % (stage, os.getpid())
    out = CACHE / "build" / key
    src = CACHE / "build-src" / key
    shutil.rmtree(out, ignore_errors=True)
    work = src / "ansible_collections" / Path(*COLLECTION_PATH)
    copy_collection(work)
    rc = run(["ansible-galaxy", "collection", "build", "--output-path", str(out), str(work)], log)
    tarballs = list(out.glob("roverlab-clouddesktop-*.tar.gz"))
    if not rc:
        log.write("built: %s\n" % ", ".join(t.name for t in tarballs))
    return rc, (tarballs[0] if tarballs else None), [src, out]


def build_collection(log):
    rc, tarball, made = build_tarball(log, "build")
    if rc:
        return rc
    listing = subprocess.run(["tar", "-tzf", str(tarball)], capture_output=True, text=True, check=True).stdout
    leaked = [n for n in listing.splitlines() if n.split("/")[0] in (".venv", ".cache", "collections", ".git")]
    if leaked:
        log.write("the tarball holds files that build_ignore should keep out: %s\n" % leaked[:10])
        return 1
    for path in made:
        shutil.rmtree(path)
    return 0


def importer_findings(output):
    """The importer's WARNING and ERROR lines: each one is a finding."""
    return [line.rstrip() for line in output.splitlines() if line.startswith(("WARNING:", "ERROR:"))]


def galaxy_importer(log):
    """Galaxy's own import check (galaxy-importer) on the tarball that the build stage's code makes, offline:
    tests/galaxy-importer.cfg turns off ansible-test (it would run in a container) and the importer's own ansible-lint
    run (the ansible-lint stage lints a superset of the tarball's files with more rules; the importer would add a
    second run with a fixed 180 s limit that a busy two-core machine can hit)."""
    rc, tarball, made = build_tarball(log, "galaxy-importer")
    if rc:
        return rc
    cwd = Path(tempfile.mkdtemp(prefix="roverlab-importer-"))  # the importer writes importer_result.json here
    env = dict(os.environ, GALAXY_IMPORTER_CONFIG=str(REPO / "tests" / "galaxy-importer.cfg"))
    env.pop("ANSIBLE_CONFIG", None)  # the importer's ansible-doc reads the unpacked collection, not this checkout
    log.write("$ python -m galaxy_importer.main %s\n" % tarball)
    log.flush()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "galaxy_importer.main", str(tarball)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=STAGE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.write("timed out after %d s\n" % STAGE_TIMEOUT)
        return 124
    log.write(done.stdout + done.stderr)
    findings = importer_findings(done.stdout + done.stderr)
    ok = done.returncode == 0 and "Importer processing completed successfully" in done.stdout and not findings
    for line in findings:
        log.write("galaxy-importer finding: %s\n" % line)
    if ok:
        for path in [*made, cwd]:
            shutil.rmtree(path)
        log.write("galaxy-importer accepts %s without a warning\n" % tarball.name)
        return 0
    log.write("ERROR: galaxy-importer rc=%d, %d warning(s) or error(s)\n" % (done.returncode, len(findings)))
    return 1


# a benchmark's sizes for the test run, where its defaults would take most of CI's time (by hand: its defaults)
BENCH_ARGS = {"desktops": ("--users", "10", "100")}
# benchmarks that run containers on the project's Docker engine
BENCH_ENGINE = {"desktop_image", "site"}
BUILD_TIMEOUT = 45 * 60
K3S_BUILD = [sys.executable, "tests/standins/k3s/build.py", "--binary-only", str(CACHE / "go" / "bin")]
TAILNET_BUILD = [sys.executable, "scripts/lab/tailnet/build.py", "--out", str(CACHE / "lab" / "tailnet" / "bin")]


def build_desktop_image(log):
    """The collection's desktop image, built (or found up to date) by its playbook with the settings of the
    desktop image tests (tests/integration/desktop_image/conftest.py), so that their build finds it up to date."""
    work = CACHE / "desktop-image"
    work.mkdir(parents=True, exist_ok=True)
    extra = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "desktop_image_hosts": "localhost",
        "desktop_image_work_dir": str(work / "work"),
        "desktop_image_npm_cache_dir": str(CACHE / "npm"),
        "desktop_image_go_cache_dir": str(CACHE / "go"),
        "desktop_image_export_path": str(work / "export" / "roverlab-desktop-bookworm.tar"),
    }
    extra_file = work / "vars-build-stage.json"
    extra_file.write_text(json.dumps(extra))
    argv = ["ansible-playbook", "-i", "localhost,", "playbooks/desktop_image.yml", "-e", "@%s" % extra_file]
    return run(argv, log, timeout=BUILD_TIMEOUT)


DOCS_LINT = [
    "antsibull-docs",
    "lint-collection-docs",
    "--plugin-docs",
    "--validate-collection-refs",
    "dependent",
    "--disallow-unknown-collection-refs",
    ".",
]
CHANGELOG_YAML_LINT = ["antsibull-changelog", "lint-changelog-yaml", "changelogs/changelog.yaml"]
DOCS_SITE = CACHE / "docs-site"
# Sphinx warnings the offline build cannot avoid: references into Ansible's own docsite (common_return_values and
# the like), which intersphinx would resolve over the network. A label of this collection must always resolve.
SPHINX_UNDEFINED_LABEL = re.compile(r"WARNING: undefined label: '([^']+)'")


def sphinx_findings(warnings):
    findings = []
    for line in warnings.splitlines():
        label = SPHINX_UNDEFINED_LABEL.search(line)
        if label and not label.group(1).startswith("ansible_collections.roverlab.clouddesktop."):
            continue
        if line.strip():
            findings.append(line.strip())
    return findings


def docs_site(log):
    """The collection's docs site as every collection has it (antsibull-docs sphinx-init, then Sphinx), offline:
    intersphinx is taken out of the generated conf.py. Result: .cache/docs-site/build/html/index.html."""
    shutil.rmtree(DOCS_SITE, ignore_errors=True)
    DOCS_SITE.mkdir(parents=True)
    init = [
        "antsibull-docs",
        "sphinx-init",
        "--use-current",
        "--squash-hierarchy",
        "--fail-on-error",
        "--lenient",
        "--project",
        "roverlab.clouddesktop",
        "--title",
        "roverlab.clouddesktop",
        "--copyright",
        "Rover Lab infrastructure team",
        "--dest-dir",
        str(DOCS_SITE),
        ".".join(COLLECTION_PATH),
    ]
    rc = run(init, log)
    if rc:
        return rc
    conf = DOCS_SITE / "conf.py"
    text = conf.read_text()
    text = text.replace("'sphinx.ext.intersphinx', ", "")
    text = re.sub(r"\nintersphinx_mapping = \{.*?\n\}\n", "\n", text, flags=re.S)
    if any("intersphinx" in line for line in text.splitlines() if not line.lstrip().startswith("#")):
        log.write("ERROR: could not take intersphinx out of %s; the build would go online\n" % conf)
        return 1
    conf.write_text(text)
    rst = DOCS_SITE / "rst"
    rst.mkdir(exist_ok=True)
    rst.chmod(0o755)  # antsibull-docs wants it writable by its owner only
    collection = [
        "antsibull-docs",
        "--config-file",
        "antsibull-docs.cfg",
        "collection",
        "--cleanup",
        "everything",
        "--fail-on-error",
        "--use-current",
        "--squash-hierarchy",
        "--dest-dir",
        "rst",
        ".".join(COLLECTION_PATH),
    ]
    rc = run(collection, log, cwd=DOCS_SITE)
    if rc:
        return rc
    warnings = DOCS_SITE / "sphinx-warnings.log"
    rc = run(
        ["sphinx-build", "-q", "-b", "html", "-c", ".", "-w", str(warnings), "rst", "build/html"], log, cwd=DOCS_SITE
    )
    if rc:
        return rc
    findings = sphinx_findings(warnings.read_text())
    for line in findings:
        log.write("sphinx finding: %s\n" % line)
    if findings:
        log.write("ERROR: the docs site builds with %d warning(s) of the collection's own\n" % len(findings))
        return 1
    log.write("docs site: %s\n" % (DOCS_SITE / "build" / "html" / "index.html"))
    return 0


def ansible_test_sanity(log):
    # ansible-test insists on a checkout path that ends in ansible_collections/<namespace>/<name>
    # ...and outside this git checkout: inside it, ansible-test would list the checkout's git files
    # (where .cache/ is ignored) and find nothing to test
    top = Path(tempfile.mkdtemp(prefix="roverlab-sanity-"))
    work = top / "ansible_collections" / Path(*COLLECTION_PATH)
    copy_collection(work)
    # the bootstrap script ansible-test would download; see scripts/ansible-test-get-pip.py
    pip_cache = Path.home() / ".ansible" / "test" / "cache" / "get_pip_24_2.py"
    pip_cache.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "scripts" / "ansible-test-get-pip.py", pip_cache)
    python = "%d.%d" % sys.version_info[:2]
    rc = run(["ansible-test", "sanity", "--color", "no", "--python", python], log, cwd=work)
    # a sanity run that found nothing to test is a broken stage, not a pass
    if rc == 0 and "All targets skipped" in Path(log.name).read_text(errors="replace"):
        log.write("ansible-test found no targets: the copy in %s is missing the collection's files\n" % work)
        return 1
    if rc == 0:  # a failed run keeps its copy for a look at tests/output
        shutil.rmtree(top)
    else:
        log.write("the copy is kept in %s\n" % work)
    return rc


# --- running -----------------------------------------------------------------------------------


def run(argv, log, cwd=REPO, timeout=STAGE_TIMEOUT):
    log.write("$ %s\n" % " ".join(argv))
    log.flush()
    try:
        proc = subprocess.run(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        log.write("timed out after %d s\n" % timeout)
        return 124
    except FileNotFoundError as exc:
        log.write("%s\n" % exc)
        return 127
    return proc.returncode


def run_stage(stage, locks, builds=None):
    """Run STAGE; BUILDS maps the selected build stages to (done event, [rc])."""
    LOGS.mkdir(parents=True, exist_ok=True)
    path = LOGS / ("%s.log" % stage.name)
    lock = locks.get(stage.exclusive) if stage.exclusive else None
    builds = builds or {}
    with open(path, "w", encoding="utf-8", errors="replace") as log:
        failed_builds = []
        for need in stage.needs:
            if need in builds:  # not selected: the stage's own fixtures build what they need
                done, result = builds[need]
                done.wait()
                if result[0]:
                    failed_builds.append(need)
        start = time.monotonic()
        if failed_builds:
            log.write("ERROR: not run: the build stage(s) it needs failed: %s\n" % ", ".join(failed_builds))
            return 1, time.monotonic() - start, path
        if lock:
            lock.acquire()
        try:
            rc = 0
            for command in stage.commands:
                rc = command(log) if callable(command) else run(command, log, cwd=stage.cwd, timeout=stage.timeout)
                if rc:
                    break
        except Exception as exc:  # a broken stage must not take the summary down with it
            log.write("stage raised %r\n" % exc)
            rc = 1
        finally:
            if lock:
                lock.release()
    return rc, time.monotonic() - start, path


def failure_reason(path, width=150):
    """One line of a failed stage's log for the summary: a pytest FAILED line, an ERROR/fatal line, or the last
    line that mentions an error (the tail printed above may not reach a reader whose view of the output is cut)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.strip() for line in f if line.strip()]
    first_of = [
        [line for line in lines if PYTEST_FAILURE.match(line)],
        [line for line in lines if line.startswith(("ERROR:", "fatal:", "stage raised", "timed out"))],
    ]
    mentions = [line for line in lines if ERROR_WORD.search(line) and not line.startswith("FAILED - RETRYING")]
    reason = next((found[0] for found in first_of if found), None) or (mentions or lines or ["(empty log)"])[-1]
    return reason if len(reason) <= width else reason[: width - 3] + "..."


def tail(path, lines):
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def prepare_engine():
    """Start the Docker engine unless it runs already; returns True when this run started it."""
    out = subprocess.run(
        [str(REPO / "scripts" / "docker-engine.sh"), "start"], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit("cannot start the Docker engine:\n" + out.stdout + out.stderr)
    built = subprocess.run([str(REPO / "scripts" / "build-images.sh")], capture_output=True, text=True, check=False)
    if built.returncode:
        raise SystemExit("cannot build the base image:\n" + built.stdout + built.stderr)
    print("engine: %s; %s" % (out.stdout.strip(), built.stdout.strip().splitlines()[-1]), flush=True)
    return out.stdout.strip() == "started"


def select(stages, patterns):
    if not patterns:
        return stages
    chosen = [s for s in stages if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(s.name, p) for s in stages)]
    if unknown:
        raise SystemExit("no stage matches %s; see --list" % ", ".join(unknown))
    return chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stages", nargs="*", help="stage names or globs (default: all)")
    parser.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("TEST_JOBS", "2")))
    parser.add_argument("--list", action="store_true", help="list the stages and exit")
    args = parser.parse_args()

    stages = select(all_stages(), args.stages)
    if args.list:
        for s in stages:
            print(s.name)
        return 0

    print("=" * 30 + " roverlab.clouddesktop test session starts " + "=" * 30)
    print("stages: %d, %d at a time; logs in %s" % (len(stages), args.jobs, LOGS), flush=True)
    begin = time.monotonic()
    started_engine = prepare_engine() if any(s.engine for s in stages) else False
    locks = {s.exclusive: threading.Lock() for s in stages if s.exclusive}
    builds = {s.name: (threading.Event(), [None]) for s in stages if s.name.startswith("build-")}
    results = {}

    def run_and_signal(stage):
        outcome = (1, 0.0, LOGS / ("%s.log" % stage.name))
        try:
            outcome = run_stage(stage, locks, builds)
        finally:
            if stage.name == "build-k3s" and outcome[0] == 0:
                # the test fixtures take this binary as it is, instead of asking Go whether it is up to date
                os.environ["ROVERLAB_K3S_BINARY"] = str(CACHE / "go" / "bin" / "k3s")
            if stage.name in builds:
                builds[stage.name][1][0] = outcome[0]
                builds[stage.name][0].set()
        return outcome

    def report(stage, rc, seconds, path):
        results[stage.name] = (rc, seconds, failure_reason(path) if rc else "")
        print("%s %-34s %7.1fs" % ("PASSED" if rc == 0 else "FAILED", stage.name, seconds), flush=True)
        lines = TAIL_LINES if rc else stage.show_tail
        if lines:
            print("---- last %d lines of %s ----" % (lines, path))
            print(tail(path, lines), flush=True)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = {pool.submit(run_and_signal, s): s for s in stages if not s.solo}
            for future in concurrent.futures.as_completed(futures):
                report(futures[future], *future.result())
        for stage in (s for s in stages if s.solo):
            report(stage, *run_stage(stage, locks, builds))
    finally:
        if started_engine:
            subprocess.run([str(REPO / "scripts" / "docker-engine.sh"), "stop"], check=False)

    failed = [n for n in (s.name for s in stages) if results[n][0]]
    print("=" * 30 + " short test summary info " + "=" * 30)
    for s in stages:
        rc, seconds, reason = results[s.name]
        line = "%-6s %-34s %7.1fs" % ("PASSED" if rc == 0 else "FAILED", s.name, seconds)
        print(line + (" - " + reason if reason else ""))
    total = time.monotonic() - begin
    passed = len(stages) - len(failed)
    parts = (["%d failed" % len(failed)] if failed else []) + ["%d passed" % passed]
    print("=" * 30 + " %s in %.1fs " % (", ".join(parts), total) + "=" * 30)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
