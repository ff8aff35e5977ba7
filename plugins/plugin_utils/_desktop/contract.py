# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The desktop image's contract: what every desktop image offers and what both targets give it.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

A desktop image (the lab's cosi119/tb3-ros, or the image the desktop_image role builds) serves four ports,
keeps the user's home and catkin workspace in one directory that the targets mount a volume on, and reads
its settings from the environment. The Kubernetes manifests and the Docker containers are both made from
these lists, so the two targets cannot drift apart.
"""

# (name, container port, group): "web" ports are password-protected web apps that a target may publish
# widely; "direct" ones (VNC's 8-character challenge, SSH) stay close (Docker: loopback by default;
# Kubernetes: cluster-internal, reached over Tailscale).
PORTS = (
    ("novnc", 80, "web"),
    ("code", 8080, "web"),
    ("vnc", 5900, "direct"),
    ("ssh", 2222, "direct"),
)
# The volume is mounted here; a new, empty volume is seeded from what the image has there.
DATA_PATH = "/my_ros_data"
# Secret environment: the variable, the key of the desktop's secrets it comes from, and whether it may be absent.
SECRET_ENV = (
    ("PASSWORD", "password", False),  # code-server's login
    ("VNC_PASSWORD", "password", False),  # noVNC and VNC (only the first 8 characters count in VNC)
    ("AUTHKEY", "tailscale-authkey", True),  # Tailscale; absent: the desktop joins no tailnet
)
# Plain environment the targets set.
RESOLUTION = "RESOLUTION"
SSH_AUTHORIZED_KEYS = "SSH_AUTHORIZED_KEYS"  # one public key per line, for sshd on port 2222
THREADS = ("MAKEFLAGS", "OMP_NUM_THREADS")  # builds use what the CPU limit allows
GPU_ENV = {"NVIDIA_DRIVER_CAPABILITIES": "all"}  # desktops draw with OpenGL/Vulkan, not only CUDA
# The tailnet (docs/desktops.md, Tailscale keys): the desktop's node name, and a coordination server other than
# Tailscale's with the CA of its certificate (PEM) when that is not a public one.
TAILNET_HOSTNAME = "TAILSCALE_HOSTNAME"
TAILNET_LOGIN_SERVER = "TS_LOGIN_SERVER"
TAILNET_LOGIN_SERVER_CA = "TS_LOGIN_SERVER_CA"
RESERVED_ENV = frozenset(
    [name for name, _key, _optional in SECRET_ENV]
    + [RESOLUTION, SSH_AUTHORIZED_KEYS, *THREADS, *GPU_ENV, "HOME", "USER"]
    + [TAILNET_HOSTNAME, TAILNET_LOGIN_SERVER, TAILNET_LOGIN_SERVER_CA]
)


def ports():
    """[{name, port, group}] in a fixed order."""
    return [{"name": name, "port": port, "group": group} for name, port, group in PORTS]


def secret_env():
    """[{name, key, optional}]: the variables filled from the desktop's secrets."""
    return [{"name": name, "key": key, "optional": optional} for name, key, optional in SECRET_ENV]


def environment(resolution, threads, gpu, ssh_keys, extra):
    """The plain (not secret) environment of a desktop, sorted by name: the contract's, then ``extra``."""
    env = dict(extra or {})
    env[RESOLUTION] = resolution
    env[THREADS[0]] = "-j%d" % threads
    env[THREADS[1]] = str(threads)
    if gpu > 0:
        env.update(GPU_ENV)
    if ssh_keys:
        env[SSH_AUTHORIZED_KEYS] = "\n".join(ssh_keys)
    return {name: str(env[name]) for name in sorted(env)}


def container_environment(desktop, secrets):
    """A desktop's whole environment for a container runtime that takes values (Docker): the plain settings and
    the secret ones from ``secrets`` ({password, tailscale-authkey}); an optional secret that is empty is left out."""
    env = dict(desktop["env"])
    for item in desktop["secret_env"]:
        value = (secrets or {}).get(item["key"]) or ""
        if value or not item["optional"]:
            env[item["name"]] = value
    return env


def tailnet_hostname(desktop, target):
    """The desktop's name on the tailnet: its Deployment's name on Kubernetes (pod names change with every
    restart), its container's name (also its host name) on Docker."""
    if target == "docker":
        return desktop["container"]
    return "%s-clouddesktop" % desktop["name"]


def tailnet_environment(desktop, target, login_server="", login_server_ca=""):
    """The tailnet part of a desktop's plain environment: its node name (Kubernetes; a Docker desktop's host name is
    that name already), and the coordination server when one is given."""
    env = {} if target == "docker" else {TAILNET_HOSTNAME: tailnet_hostname(desktop, target)}
    if login_server:
        env[TAILNET_LOGIN_SERVER] = login_server
    if login_server_ca:
        env[TAILNET_LOGIN_SERVER_CA] = login_server_ca.strip() + "\n"
    return env
