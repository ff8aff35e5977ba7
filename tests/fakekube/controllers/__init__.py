"""Fake controllers: just enough of kube-controller-manager, kube-scheduler and the kubelet.

They run synchronously inside the request that triggered them (``ControllerManager.settle``), so when a
write returns, the cluster has already converged: a Deployment has its ReplicaSet and scheduled Pods, a PVC is
Bound, a Job is Complete. There is no watch, no delay and no failure injection.
"""

import collections
import sys

from ..errors import ApiError
from .deployments import DeploymentController
from .helmcharts import HelmChartController
from .jobs import JobController
from .podgc import PodGarbageCollector
from .replicasets import ReplicaSetController
from .scheduler import SchedulerController
from .storage import VolumeClaimController
from .workloads import DaemonSetController, StatefulSetController

# a convergence bug must fail the request instead of spinning forever
MAX_SYNCS_PER_REQUEST = 20000


class ControllerManager:
    def __init__(self, api):
        self.api = api
        self._controllers = [
            DeploymentController(api),
            ReplicaSetController(api),
            SchedulerController(api),
            PodGarbageCollector(api),
            VolumeClaimController(api),
            JobController(api),
            HelmChartController(api),
            StatefulSetController(api),
            DaemonSetController(api),
        ]
        self._queue = collections.deque()
        self._queued = set()

    def observe(self, rtype, old, new):
        """Queue the work a stored change (create: old None; delete: new None) causes."""
        for controller in self._controllers:
            for key in controller.keys_for(rtype, old, new):
                item = (controller, key)
                if item not in self._queued:
                    self._queued.add(item)
                    self._queue.append(item)

    def settle(self):
        syncs = 0
        while self._queue:
            item = self._queue.popleft()
            self._queued.discard(item)
            controller, key = item
            try:
                controller.sync(key)
            except ApiError as error:
                # as in a real cluster, a controller's failed write is its own problem, not the client's
                sys.stderr.write("fakekube: %s %s: %s\n" % (type(controller).__name__, key, error.message))
            syncs += 1
            if syncs > MAX_SYNCS_PER_REQUEST:
                self._queue.clear()
                self._queued.clear()
                raise RuntimeError("fakekube controllers did not converge")
