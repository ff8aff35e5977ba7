"""Job controller: each Job runs one Pod per completion that succeeds at once, then the Job is Complete."""

from ..clock import now
from ..store import clone
from .base import Controller, owner_keys, owner_reference, self_key, set_condition


class JobController(Controller):
    def keys_for(self, rtype, old, new):
        if rtype.kind == "Pod":
            return owner_keys(new or old, "Job")
        return self_key(rtype, "Job", old, new)

    def sync(self, key):
        jobs = self.type("batch/v1", "jobs")
        pods_type = self.type("v1", "pods")
        job = self.api.store.get(jobs, *key)
        if job is None or job["metadata"].get("deletionTimestamp") or job["spec"].get("suspend"):
            return
        status = clone(job.get("status") or {})
        if any(c.get("type") == "Complete" for c in status.get("conditions") or []):
            return
        completions = job["spec"].get("completions", 1)
        pods = self.api.store.owned(pods_type, job)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        running = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        if succeeded + len(running) < completions and not running:
            self.create(pods_type, key[0], self._new_pod(job))
            return  # the Pod's progress brings this Job back
        status.setdefault("startTime", now())
        status["active"] = len(running)
        status["succeeded"] = succeeded
        if succeeded >= completions:
            status.pop("active")
            status["completionTime"] = now()
            conditions = set_condition(
                status.get("conditions"),
                "SuccessCriteriaMet",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            )
            status["conditions"] = set_condition(
                conditions, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"
            )
            status["ready"] = 0
        self.set_status(jobs, job, {k: v for k, v in status.items() if v or k == "succeeded"})

    def _new_pod(self, job):
        template = clone(job["spec"].get("template") or {})
        meta = template.get("metadata") or {}
        meta["generateName"] = job["metadata"]["name"] + "-"
        meta["ownerReferences"] = [owner_reference(job)]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec") or {}}
