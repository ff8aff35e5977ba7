"""The gpu_device_plugin role's HelmChart, installed by helm on a real control plane.

What is real: the role (its offline path: the chart archive sent inside the HelmChart as spec.chartContent),
kube-apiserver with its controllers (tests/kubeapi), and helm: the k3s stand-in's HelmChart runner links the real
helm library (helm.sh/helm/v3) and installs, upgrades and uninstalls the release as helm-controller's Job would.
What is a stand-in: the runner itself (for k3s's helm-controller, whose klipper-helm image no registry here
serves), and the chart: NVIDIA's chart cannot be downloaded here, so the test packs a small chart of the same name
and version whose templates use the values the role renders (runtimeClassName, nodeSelector, config.map).
"""

import base64
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
import testkit  # noqa: E402
from kubeapi import Api, ControlPlane  # noqa: E402  (after the path setup above)

CHARTS = "/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts"
DAEMONSET = "/apis/apps/v1/namespaces/nvidia-device-plugin/daemonsets/nvidia-device-plugin"
CONFIGMAP = "/api/v1/namespaces/nvidia-device-plugin/configmaps/nvidia-device-plugin-configs"
RELEASES = "/api/v1/namespaces/nvidia-device-plugin/secrets?labelSelector=owner%3Dhelm%2Cname%3Dnvidia-device-plugin"
PLAYBOOK = """\
- hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: roverlab.clouddesktop.gpu_device_plugin
"""

CHART_FILES = {
    "Chart.yaml": "apiVersion: v2\nname: nvidia-device-plugin\nversion: 0.20.0\nappVersion: 0.20.0\n",
    "values.yaml": "runtimeClassName: null\nnodeSelector: {}\nconfig:\n  map: {}\n  default: ''\n",
    "templates/daemonset.yaml": """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .Release.Name }}
  labels:
    app.kubernetes.io/managed-by: {{ .Release.Service }}
spec:
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      {{- with .Values.runtimeClassName }}
      runtimeClassName: {{ . }}
      {{- end }}
      nodeSelector: {{ toJson .Values.nodeSelector }}
      containers:
        - name: plugin
          image: stand-in/device-plugin:0.20.0
          {{- if .Values.config.default }}
          env:
            - {name: CONFIG_NAME, value: {{ .Values.config.default | quote }}}
          {{- end }}
""",
    "templates/config.yaml": """\
{{- if .Values.config.map }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-configs
data: {{ toJson .Values.config.map }}
{{- end }}
""",
}


def pack_chart(path):
    """A .tgz of the stand-in chart, laid out as `helm package` lays it out (everything under the chart's name)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, text in sorted(CHART_FILES.items()):
            data = text.encode()
            member = tarfile.TarInfo("nvidia-device-plugin/" + name)
            member.size, member.mode = len(data), 0o644
            archive.addfile(member, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path


def run_role(tmp_path, api, **settings):
    playbook = tmp_path / "device_plugin.yml"
    playbook.write_text(PLAYBOOK)
    extra = tmp_path / "extra.json"
    variables = {
        "ansible_python_interpreter": sys.executable,
        "gpu_device_plugin_kubeconfig": str(api.kubeconfig),
        "gpu_device_plugin_label_nodes": False,
        **settings,
    }
    extra.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", TMPDIR=str(tmp_path))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-e", "@%s" % extra]
    done = subprocess.run(
        [*command, str(playbook)], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done.stdout


def wait_for(what, check, control_plane, timeout=120):
    """testkit.wait_for, with the API server's last lines in the failure."""
    try:
        return testkit.wait_for(check, timeout, interval=1, what=what)
    except AssertionError as exc:
        raise AssertionError("%s; server log:\n%s" % (exc, control_plane.tail(30))) from None


def condition(api, name):
    chart = api.get("%s/%s" % (CHARTS, name)) or {}
    conditions = (chart.get("status") or {}).get("conditions") or []
    return conditions[0] if conditions else None


def release_versions(api):
    return sorted(int(item["metadata"]["labels"]["version"]) for item in api.items(RELEASES))


def test_the_device_plugin_chart_is_installed_upgraded_and_removed_by_helm(tmp_path):
    archive = pack_chart(tmp_path / "nvidia-device-plugin-0.20.0.tgz")
    with ControlPlane(tmp_path / "api") as control_plane:
        api = Api(control_plane)

        run_role(tmp_path, api, gpu_device_plugin_chart_archive=str(archive))
        chart = api.get("%s/nvidia-device-plugin" % CHARTS)
        assert base64.b64decode(chart["spec"]["chartContent"]) == archive.read_bytes()
        daemonset = wait_for("the chart's DaemonSet", lambda: api.get(DAEMONSET), control_plane)
        pod = daemonset["spec"]["template"]["spec"]
        assert pod["runtimeClassName"] == "nvidia"
        assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert daemonset["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert api.get(CONFIGMAP) is None  # no time-slicing: no config map
        done = wait_for(
            "a Deployed condition", lambda: (condition(api, "nvidia-device-plugin") or {}).get("reason"), control_plane
        )
        assert done == "Deployed", condition(api, "nvidia-device-plugin")
        assert release_versions(api) == [1]

        # time-slicing: the role changes the values, helm upgrades the release
        run_role(tmp_path, api, gpu_device_plugin_chart_archive=str(archive), gpu_device_plugin_time_slicing_replicas=4)
        configs = wait_for("the time-slicing config", lambda: api.get(CONFIGMAP), control_plane)
        sharing = yaml.safe_load(configs["data"]["default"])
        assert sharing["sharing"]["timeSlicing"]["resources"] == [{"name": "nvidia.com/gpu", "replicas": 4}]
        assert release_versions(api) == [1, 2]

        # the same values again: no new release
        run_role(tmp_path, api, gpu_device_plugin_chart_archive=str(archive), gpu_device_plugin_time_slicing_replicas=4)
        time.sleep(5)
        assert release_versions(api) == [1, 2]

        # deleting the HelmChart uninstalls the release (its finalizer is let go only after that)
        api.request("DELETE", "%s/nvidia-device-plugin" % CHARTS)
        wait_for("the HelmChart gone", lambda: api.get("%s/nvidia-device-plugin" % CHARTS) is None, control_plane)
        assert api.get(DAEMONSET) is None and api.get(CONFIGMAP) is None
        assert release_versions(api) == []


def test_a_chart_only_named_by_a_repository_fails_and_says_why(tmp_path):
    with ControlPlane(tmp_path / "api") as control_plane:
        api = Api(control_plane)
        run_role(tmp_path, api)  # the default: NVIDIA's chart repository, which cannot be reached here
        failed = wait_for("a Failed condition", lambda: condition(api, "nvidia-device-plugin"), control_plane)
        assert (failed["status"], failed["reason"]) == ("True", "Error"), failed
        assert "https://nvidia.github.io/k8s-device-plugin" in failed["message"]
        assert api.get(DAEMONSET) is None
