"""A kubeconfig that points clients at the fake server (plain HTTP, a dummy token)."""

import os

TEMPLATE = """apiVersion: v1
kind: Config
clusters:
- name: fakekube
  cluster:
    server: {url}
contexts:
- name: fakekube
  context:
    cluster: fakekube
    user: fakekube
    namespace: default
current-context: fakekube
preferences: {{}}
users:
- name: fakekube
  user:
    token: fakekube-has-no-authentication
"""


def write_kubeconfig(path, url):
    """Write the kubeconfig atomically (readers may poll for it), mode 0600 like real ones."""
    temporary = "%s.tmp%d" % (path, os.getpid())
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(TEMPLATE.format(url=url))
    os.replace(temporary, path)
