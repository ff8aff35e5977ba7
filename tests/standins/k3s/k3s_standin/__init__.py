"""STAND-IN for the k3s binary, for tests and the local lab only: the real k3s cannot be downloaded here.

It implements what the collection's roles and plays use, on top of real components where they exist:
``k3s --version``, ``k3s server`` (config.yaml checked like k3s checks flags, token files, the project's fake
Kubernetes API on :6443 over plain HTTP, its own Node), ``k3s agent`` (joins with the server URL and token,
registers its Node), the containerd config rendered from config.toml.tmpl / config-v3.toml.tmpl the way k3s
does, and Debian's real containerd started with it. See docs/cluster-admin.md, "The k3s stand-in".
"""
