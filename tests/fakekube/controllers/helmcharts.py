"""k3s' helm-controller, reduced: a HelmChart gets an install Job ``helm-install-<name>`` and ``status.jobName``.

No chart is ever fetched or rendered; the Job only records that an install would run (with the chart's values
in its environment, as the real controller passes them). A changed chart replaces its Job.
"""

import hashlib
import json

from .base import Controller, owned_by, owner_reference, self_key

CONFIG_ANNOTATION = "helmcharts.helm.cattle.io/configHash"
INSTALLER_IMAGE = "rancher/klipper-helm:v0.9.3-build20241008"


class HelmChartController(Controller):
    def keys_for(self, rtype, old, new):
        return self_key(rtype, "HelmChart", old, new)

    def sync(self, key):
        charts = self.type("helm.cattle.io/v1", "helmcharts")
        jobs = self.type("batch/v1", "jobs")
        chart = self.api.store.get(charts, *key) if charts is not None else None
        if chart is None or chart["metadata"].get("deletionTimestamp"):
            return
        job_name = "helm-install-%s" % chart["metadata"]["name"]
        config = "SHA256=" + hashlib.sha256(json.dumps(chart.get("spec") or {}, sort_keys=True).encode()).hexdigest()
        job = self.api.store.get(jobs, key[0], job_name)
        stale = job is not None and (job["metadata"].get("annotations") or {}).get(CONFIG_ANNOTATION) != config
        if stale and owned_by(job, chart):
            self.delete(jobs, job)
            job = None
        if job is None:
            self.create(jobs, key[0], _install_job(chart, job_name, config))
        if (chart.get("status") or {}).get("jobName") != job_name:
            self.set_status(charts, chart, dict(chart.get("status") or {}, jobName=job_name))


def _install_job(chart, name, config):
    spec = chart.get("spec") or {}
    env = [{"name": "NAME", "value": chart["metadata"]["name"]}]
    for field, variable in (
        ("chart", "CHART"),
        ("version", "VERSION"),
        ("repo", "REPO"),
        ("targetNamespace", "TARGET_NAMESPACE"),
    ):
        if spec.get(field):
            env.append({"name": variable, "value": str(spec[field])})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": {"helmcharts.helm.cattle.io/chart": chart["metadata"]["name"]},
            "annotations": {CONFIG_ANNOTATION: config},
            "ownerReferences": [owner_reference(chart)],
        },
        "spec": {
            "backoffLimit": 1000,
            "template": {
                "metadata": {"labels": {"helmcharts.helm.cattle.io/chart": chart["metadata"]["name"]}},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "serviceAccountName": "helm-%s" % chart["metadata"]["name"],
                    "containers": [{"name": "helm", "image": INSTALLER_IMAGE, "args": ["install"], "env": env}],
                },
            },
        },
    }
