"""The FakeKube pytest helper and the command line: start, readiness, kubeconfig, stop by PID."""

import os
import subprocess
import sys

import pytest
from conftest import TESTS, Client
from fakekube.testing import FakeKube, FakeKubeError


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers signal 0; it is gone once reaped, which FakeKube.stop does
    return True


def test_context_manager_serves_and_stops(tmp_path):
    with FakeKube(tmp_path, kube_version="1.30.2") as api:
        pid = api.pid
        assert api.url.startswith("http://127.0.0.1:")
        text = api.kubeconfig.read_text()
        assert "server: %s" % api.url in text
        assert Client(api.url).request("GET", "/version")[1]["minor"] == "30"
    assert not alive(pid)


def test_stops_even_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError), FakeKube(tmp_path) as api:
        pid = api.pid
        raise RuntimeError("test failure inside the block")
    assert not alive(pid)


def test_no_controllers_flag(tmp_path):
    with FakeKube(tmp_path, controllers=False) as api:
        client = Client(api.url)
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"a": "b"}},
                "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "x:1"}]},
                },
            },
        }
        client.request("POST", "/apis/apps/v1/namespaces/default/deployments", body)
        assert client.request("GET", "/api/v1/pods")[1]["items"] == []


def test_failed_start_raises_with_the_log(tmp_path):
    broken = FakeKube(tmp_path, extra_args=["--kube-version", "nonsense"])
    with pytest.raises(FakeKubeError) as raised:
        broken.start()
    assert "kube-version" in str(raised.value)


def test_cli_prints_where_it_listens(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    process = subprocess.Popen(
        [sys.executable, "-m", "fakekube", "--port", "0", "--kubeconfig", str(tmp_path / "kc"), "--host", "127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        line = process.stdout.readline().decode()
        assert line.startswith("fakekube listening on http://127.0.0.1:")
        assert (tmp_path / "kc").exists()
        assert oct((tmp_path / "kc").stat().st_mode & 0o777) == "0o600"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.mark.skipif(not os.path.exists("/usr/bin/python3"), reason="no system python3 to run without site-packages")
def test_runs_on_the_bare_standard_library(tmp_path):
    """-S: no site-packages at all, as in a bare Debian container; schema validation is then off."""
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    process = subprocess.Popen(
        ["/usr/bin/python3", "-S", "-m", "fakekube", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        url = process.stdout.readline().decode().split(" on ")[-1].strip()
        client = Client(url)
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"a": "b"}},
                "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "x:1"}]},
                },
            },
        }
        assert client.request("POST", "/apis/apps/v1/namespaces/default/deployments", body)[0] == 201
        assert client.request("GET", "/api/v1/namespaces/default/pods")[1]["items"][0]["status"]["phase"] == "Running"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        assert b"schema validation off" in process.stderr.read()
        process.stderr.close()


def test_bench_runs_end_to_end(capsys):
    """The measuring tool behind docs/fake-kube.md still works (no timing is asserted)."""
    from fakekube import bench

    assert bench.main(["--count", "3", "--users", "2"]) == 0
    out = capsys.readouterr().out
    assert "Deployment creates" in out and "desktop users re-applied" in out
