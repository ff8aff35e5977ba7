"""Benchmark: time to a usable noVNC session, desktop_docker playbook against `docker run` of the same image.

    .venv/bin/python benchmarks/desktop_image_bench.py [--rounds 1]

First it runs playbooks/desktop_image.yml (with the test suite's caches: a no-change run when the image is built,
the cold build otherwise) and reports that time and the image's size. Then, per round, on the project's Docker
engine, each side starts one desktop from nothing (no container, a new volume) and the clock stops when Debian's
Chromium, driven by Playwright, is connected to noVNC with the password and the canvas shows a drawn desktop
(at least 32 colours, no colour over 97%):

- ansible: `ansible-playbook playbooks/desktop_docker.yml` for one user (password generated and stored, network,
  volume, container with the role's settings), then the browser.
- docker run: `docker run -d` of the same image with a password, the volume and the noVNC port, then the browser.

Rounds alternate the sides; medians and the ratio are printed and written to benchmarks/results/desktop_image.json.
Everything is named dimg-bench-* and removed afterwards. Timings are reported, never asserted.
"""

import argparse
import base64
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
WORK = CACHE / "desktop-image"
IMAGE = "roverlab/desktop:bookworm"
PREFIX = "dimg-bench"
PORT = 24380
PASSWORD = "bench-pw-%d" % os.getpid()
PLAYBOOK = str(REPO / ".venv" / "bin" / "ansible-playbook")


def docker(*args, check=True):
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode:
        sys.exit("docker %s failed: %s" % (" ".join(args), proc.stderr))
    return proc.stdout.strip()


def ansible(playbook, extra):
    extra_file = WORK / ("bench-vars-%d.json" % os.getpid())
    extra_file.write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    start = time.monotonic()
    proc = subprocess.run(
        [PLAYBOOK, "-i", "localhost,", str(REPO / "playbooks" / playbook), "-e", "@%s" % extra_file],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - start
    if proc.returncode:
        sys.exit("%s failed:\n%s" % (playbook, (proc.stdout + proc.stderr)[-4000:]))
    return seconds


def local():
    return {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def clean():
    for name in docker("ps", "-aq", "--filter", "name=^/%s-" % PREFIX, check=False).split():
        docker("rm", "-f", name, check=False)
    for name in docker("volume", "ls", "-q", "--filter", "name=%s-" % PREFIX, check=False).split():
        docker("volume", "rm", "-f", name, check=False)
    docker("network", "rm", PREFIX, check=False)


def drawn(page):
    from PIL import Image

    data_url = page.evaluate("document.querySelector('#noVNC_container canvas').toDataURL('image/png')")
    image = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB")
    colours = image.getcolors(1 << 24)
    return len(colours) >= 32 and max(count for count, _colour in colours) < 0.97 * image.width * image.height


def until_usable(browser, password, start, timeout=180):
    """Seconds from START until noVNC on PORT is connected and drawn (the page is retried while it cannot load)."""
    url = "http://127.0.0.1:%d/vnc.html?autoconnect=1&resize=scale#password=%s" % (PORT, password)
    deadline = start + timeout
    while time.monotonic() < deadline:
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        try:
            page.goto(url, timeout=5000)
            page.wait_for_selector("html.noVNC_connected", timeout=10000)
            while time.monotonic() < deadline:
                if drawn(page):
                    return time.monotonic() - start
                time.sleep(0.2)
        except Exception:  # not up yet: the page or the connection fails, try again
            time.sleep(0.5)
        finally:
            context.close()
    sys.exit("noVNC on port %d was not usable within %d s" % (PORT, timeout))


def round_ansible(browser, secrets):
    clean()
    shutil.rmtree(secrets, ignore_errors=True)
    extra = dict(
        local(),
        desktop_docker_hosts="localhost",
        desktop_docker_image="roverlab/desktop",
        desktop_docker_image_tag="bookworm",
        desktop_docker_image_pull="never",
        desktop_docker_name_prefix=PREFIX,
        desktop_docker_network=PREFIX,
        desktop_docker_web_bind_address="127.0.0.1",
        desktop_docker_direct_bind_address="127.0.0.1",
        desktop_docker_host_port_base={"novnc": PORT, "code": PORT + 100, "vnc": PORT + 200, "ssh": PORT + 300},
        desktop_docker_cpu="1",
        desktop_docker_cpu_limit="1.5",
        desktop_docker_memory="1Gi",
        desktop_docker_memory_limit="3Gi",
        desktop_docker_shm_size="256Mi",
        desktop_docker_secrets_dir=str(secrets),
        desktop_users=[{"name": "u", "resolution": "1280x800"}],
    )
    start = time.monotonic()
    playbook_seconds = ansible("desktop_docker.yml", extra)
    total = until_usable(browser, (secrets / "u.password").read_text(), start)
    clean()
    return total, playbook_seconds


def round_docker_run(browser):
    clean()
    start = time.monotonic()
    docker(
        "run", "-d", "--name", "%s-run" % PREFIX, "-e", "PASSWORD=" + PASSWORD, "-e", "RESOLUTION=1280x800",
        "--cpus", "1.5", "--memory", "3g", "--shm-size", "256m",
        "--mount", "type=volume,source=%s-run-data,target=/my_ros_data" % PREFIX,
        "-p", "127.0.0.1:%d:80" % PORT, IMAGE,
    )  # fmt: skip
    total = until_usable(browser, PASSWORD, start)
    clean()
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    WORK.mkdir(parents=True, exist_ok=True)
    secrets = WORK / ("bench-secrets-%d" % os.getpid())
    build = ansible(
        "desktop_image.yml",
        dict(
            local(),
            desktop_image_hosts="localhost",
            desktop_image_work_dir=str(WORK / "work"),
            desktop_image_npm_cache_dir=str(CACHE / "npm"),
            desktop_image_go_cache_dir=str(CACHE / "go"),
        ),
    )
    size = int(docker("image", "inspect", "-f", "{{.Size}}", IMAGE))
    print("desktop_image_bench: image build (playbook run) %.1f s, image %s %.2f GB" % (build, IMAGE, size / 1e9))
    results = {"ansible": [], "ansible_playbook": [], "docker_run": []}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"], headless=True
            )
            for n in range(args.rounds):
                total, playbook_part = round_ansible(browser, secrets)
                results["ansible"].append(total)
                results["ansible_playbook"].append(playbook_part)
                baseline = round_docker_run(browser)
                results["docker_run"].append(baseline)
                print(
                    "round %d: desktop_docker %.1f s (playbook %.1f s), docker run %.1f s"
                    % (n + 1, total, playbook_part, baseline),
                    flush=True,
                )
            browser.close()
    finally:
        clean()
        shutil.rmtree(secrets, ignore_errors=True)
    medians = {k: statistics.median(v) for k, v in results.items()}
    report = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "image": IMAGE,
        "image_size_bytes": size,
        "image_playbook_seconds": round(build, 1),
        "seconds": results,
        "medians": medians,
        "ratio_ansible_to_docker_run": medians["ansible"] / medians["docker_run"],
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    print()
    print("%-34s %10s" % ("time to a usable noVNC session", "median s"))
    print("%-34s %10.1f" % ("docker run (baseline)", medians["docker_run"]))
    print("%-34s %10.1f" % ("desktop_docker playbook + start", medians["ansible"]))
    print("%-34s %10.1f" % ("  of which the playbook run", medians["ansible_playbook"]))
    print("ratio desktop_docker / docker run: %.2fx" % report["ratio_ansible_to_docker_run"])
    print("load average during the run: %.1f %.1f %.1f on %d CPUs" % (*report["load_average"], report["cpus"]))
    out = REPO / "benchmarks" / "results" / "desktop_image.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print("written to %s" % out.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
