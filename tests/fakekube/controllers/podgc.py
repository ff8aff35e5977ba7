"""Pod garbage collection: Pods bound to a Node that was deleted are deleted too (at once, not after a delay)."""

from .base import Controller


class PodGarbageCollector(Controller):
    def keys_for(self, rtype, old, new):
        if rtype.kind == "Node" and new is None:
            return (old["metadata"]["name"],)
        return ()

    def sync(self, key):
        pods = self.type("v1", "pods")
        for pod in self.api.store.items(pods):
            if (pod.get("spec") or {}).get("nodeName") == key:
                self.delete(pods, pod)
