"""Verify the nvidia_driver role on the scenario's two containers (no GPU on the test machine)."""

import pytest

DRIVER_VERSION_PREFIX = "535."  # Debian 12's branch
GRAPHICS_PACKAGES = [
    "nvidia-driver",
    "nvidia-kernel-dkms",
    "nvidia-smi",
    "nvidia-egl-icd",
    "nvidia-vulkan-icd",
    "libgl1-nvidia-glvnd-glx",
    "libglx-nvidia0",
    "libcuda1",
]
SOURCES = "/etc/apt/sources.list.d/roverlab-nvidia-nonfree.sources"


def forced(host):
    return host.backend.get_hostname() == "nvidia-driver-forced"


def test_plain_node_gets_nothing(host):
    if forced(host):
        pytest.skip("the forced node")
    assert not host.package("nvidia-driver").is_installed
    assert not host.file(SOURCES).exists
    assert not host.file("/etc/apt/apt.conf.d/51roverlab-nvidia-driver").exists


@pytest.mark.parametrize("package", GRAPHICS_PACKAGES)
def test_forced_node_has_the_graphics_driver(host, package):
    if not forced(host):
        pytest.skip("the plain node")
    pkg = host.package(package)
    assert pkg.is_installed
    assert pkg.version.startswith(DRIVER_VERSION_PREFIX)


def test_forced_node_has_gl_egl_vulkan_libraries(host):
    if not forced(host):
        pytest.skip("the plain node")
    libraries = host.check_output("ldconfig -p")
    # what simulators and desktops load (Isaac Sim failed on headless drivers without libGLX_nvidia.so.0)
    for soname in ("libGLX_nvidia.so.0", "libEGL_nvidia.so.0", "libcuda.so.1", "libnvidia-ml.so.1"):
        assert soname in libraries, soname
    assert host.file("/usr/share/vulkan/icd.d/nvidia_icd.json").exists
    assert host.file("/usr/share/glvnd/egl_vendor.d/10_nvidia.json").exists


def test_forced_node_holds_every_driver_package(host):
    if not forced(host):
        pytest.skip("the plain node")
    held = set(host.check_output("apt-mark showhold").split())
    assert set(GRAPHICS_PACKAGES) <= held
    assert {"libnvidia-ml1", "firmware-nvidia-gsp"} <= held
    assert not any(name.startswith(("nvidia-container", "libnvidia-container")) for name in held)


def test_unattended_upgrades_blacklist_parses(host):
    if not forced(host):
        pytest.skip("the plain node")
    dump = host.check_output("apt-config dump Unattended-Upgrade::Package-Blacklist")
    assert 'Unattended-Upgrade::Package-Blacklist:: "nvidia-";' in dump
    assert 'Unattended-Upgrade::Package-Blacklist:: "libnvidia-";' in dump


def test_nonfree_added_for_the_nodes_own_mirrors(host):
    if not forced(host):
        pytest.skip("the plain node")
    sources = host.file(SOURCES)
    assert sources.mode == 0o644
    text = sources.content_string
    for suite in ("bookworm", "bookworm-updates", "bookworm-security"):
        assert "Suites: %s\n" % suite in text
    assert "URIs: http://deb.debian.org/debian/\n" in text
    assert "Components: contrib non-free non-free-firmware" in text
    # the node's own sources.list is left as it was
    assert "non-free" not in host.file("/etc/apt/sources.list").content_string
    # and apt reads it without warnings about components configured twice
    policy = host.run("apt-cache policy nvidia-driver")
    assert policy.rc == 0
    assert "configured multiple times" not in policy.stderr


def test_nvidia_smi_cannot_reach_a_module_in_a_container(host):
    if not forced(host):
        pytest.skip("the plain node")
    result = host.run("nvidia-smi")
    assert result.rc != 0
    assert "couldn't communicate with the NVIDIA driver" in result.stdout + result.stderr
    assert not host.file("/proc/driver/nvidia/version").exists
