"""Unit tests for the k3s filters: version order, the containerd/NVIDIA plan at every boundary, checksums."""

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.filter.k3s import (
    FilterModule,
    k3s_containerd_plan,
    k3s_sha256sums,
    k3s_version_compare,
)


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        ("v1.31.6+k3s1", ">=", "v1.31.6", True),
        ("v1.31.5+k3s1", ">=", "v1.31.6", False),
        ("v1.31.6+k3s2", ">", "v1.31.6+k3s1", True),
        ("v1.31.6-rc1+k3s1", "<", "v1.31.6+k3s1", True),
        ("v1.31.6-rc2+k3s1", ">", "v1.31.6-rc1+k3s1", True),
        ("v1.31.10+k3s1", ">", "v1.31.9+k3s1", True),  # numeric, not string order
        ("v1.100.0+k3s1", "gt", "v1.99.9+k3s9", True),
        ("1.28.5", "==", "v1.28.5", True),
        ("v1.28.5+k3s1", "!=", "v1.28.5+k3s2", True),
        ("v1.28.4+k3s2", "lt", "v1.28.5", True),
    ],
)
def test_version_compare(left, op, right, expected):
    assert k3s_version_compare(left, right, op) is expected


def test_version_compare_defaults_to_at_least():
    assert k3s_version_compare("v1.33.0+k3s1", "v1.28.5")
    assert not k3s_version_compare("v1.28.4+k3s1", "v1.28.5")


@pytest.mark.parametrize("bad", ["1.31", "v1.31.6+rke2r1", "latest", "v1.31.6 +k3s1", "", None, 131])
def test_version_compare_rejects_what_is_not_a_version(bad):
    with pytest.raises(AnsibleFilterError):
        k3s_version_compare(bad, "v1.31.6")


def test_version_compare_rejects_unknown_operator():
    with pytest.raises(AnsibleFilterError, match="unknown comparison"):
        k3s_version_compare("v1.31.6+k3s1", "v1.31.6", "~=")


# (version, containerd major, base template supported, default-runtime supported):
# versions just below and at each boundary the collection relies on
BOUNDARIES = [
    ("v1.23.17+k3s1", 1, False, False),
    ("v1.24.16+k3s1", 1, False, False),
    ("v1.24.17+k3s1", 1, True, False),
    ("v1.25.12+k3s1", 1, False, False),
    ("v1.25.13+k3s1", 1, True, False),
    ("v1.26.7+k3s1", 1, False, False),
    ("v1.26.8+k3s1", 1, True, False),
    ("v1.27.4+k3s1", 1, False, False),
    ("v1.27.5+k3s1", 1, True, False),
    ("v1.28.0+k3s1", 1, False, False),
    ("v1.28.1+k3s1", 1, True, False),
    ("v1.28.4+k3s2", 1, True, False),
    ("v1.28.5+k3s1", 1, True, True),
    ("v1.29.0+k3s1", 1, True, True),
    ("v1.30.14+k3s1", 1, True, True),
    ("v1.31.5+k3s1", 1, True, True),
    ("v1.31.6-rc1+k3s1", 2, True, True),
    ("v1.31.6+k3s1", 2, True, True),
    ("v1.32.1+k3s1", 1, True, True),
    ("v1.32.2+k3s1", 2, True, True),
    ("v1.33.0+k3s1", 2, True, True),
    ("v1.36.2+k3s1", 2, True, True),
]


@pytest.mark.parametrize(("version", "containerd", "base", "default_runtime"), BOUNDARIES)
def test_plan_template_name_follows_containerd(version, containerd, base, default_runtime):
    plan = k3s_containerd_plan(version, "none", gpu_node=False)
    assert plan["containerd"] == containerd
    assert plan["base_template"] is base
    expected = "config-v3.toml.tmpl" if containerd == 2 else "config.toml.tmpl"
    assert plan["template_name"] == expected
    assert plan["stale_template_names"] == [
        "config.toml.tmpl" if expected == "config-v3.toml.tmpl" else "config-v3.toml.tmpl"
    ]
    assert plan["nvidia"] == "none"
    assert plan["default_runtime"] is None


@pytest.mark.parametrize(("version", "containerd", "base", "default_runtime"), BOUNDARIES)
def test_plan_auto_on_a_gpu_node(version, containerd, base, default_runtime):
    if not default_runtime and not base:
        with pytest.raises(AnsibleFilterError, match='template "base"'):
            k3s_containerd_plan(version, "auto", gpu_node=True)
        return
    plan = k3s_containerd_plan(version, "auto", gpu_node=True)
    if default_runtime:
        assert (plan["nvidia"], plan["default_runtime"]) == ("default-runtime", "nvidia")
    else:
        assert (plan["nvidia"], plan["default_runtime"]) == ("template", None)


@pytest.mark.parametrize(("version", "containerd", "base", "default_runtime"), BOUNDARIES)
def test_plan_forced_template(version, containerd, base, default_runtime):
    if not base:
        with pytest.raises(AnsibleFilterError, match=re.escape("v1.24.17, v1.25.13, v1.26.8, v1.27.5 and v1.28.1")):
            k3s_containerd_plan(version, "template", gpu_node=True)
        return
    plan = k3s_containerd_plan(version, "template", gpu_node=True)
    assert plan["nvidia"] == "template"
    assert plan["default_runtime"] is None


@pytest.mark.parametrize("mode", ["auto", "template", "none"])
def test_plan_leaves_nodes_without_gpus_alone(mode):
    # even a release too old for the base template is fine on a node that needs no template
    plan = k3s_containerd_plan("v1.24.16+k3s1", mode, gpu_node=False)
    assert plan["nvidia"] == "none"


def test_plan_none_on_a_gpu_node():
    assert k3s_containerd_plan("v1.33.0+k3s1", "none", gpu_node=True)["nvidia"] == "none"


def test_plan_rejects_unknown_mode():
    with pytest.raises(AnsibleFilterError, match="k3s_nvidia_runtime must be one of"):
        k3s_containerd_plan("v1.33.0+k3s1", "cdi", gpu_node=True)


SUMS = """\
7a6d1a2ffa4b6b2b3b6c1f5e1b3e1a1f1f5b8f5e5c7d9a5c3f2e1d0c9b8a7f6e  k3s
0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a0908070605040302010ff *k3s-airgap-images-amd64.tar

ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789  k3s-airgap-images-amd64.tar.zst
"""


def test_sha256sums_parses_release_file():
    sums = k3s_sha256sums(SUMS)
    assert sums["k3s"].startswith("7a6d1a2f")
    assert sums["k3s-airgap-images-amd64.tar"].startswith("0f0e0d0c")  # binary-mode '*' dropped
    assert sums["k3s-airgap-images-amd64.tar.zst"] == "abcdef0123456789" * 4  # lower-cased
    assert len(sums) == 3


@pytest.mark.parametrize(
    "text",
    [
        "deadbeef  k3s\n",  # truncated hash
        "<html>404 Not Found</html>\n",  # what a mirror returns instead of the file
        "7a6d1a2ffa4b6b2b3b6c1f5e1b3e1a1f1f5b8f5e5c7d9a5c3f2e1d0c9b8a7f6e\n",  # no file name
    ],
)
def test_sha256sums_rejects_what_is_not_a_checksum_file(text):
    with pytest.raises(AnsibleFilterError, match="line 1"):
        k3s_sha256sums(text)


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"k3s_version_compare", "k3s_containerd_plan", "k3s_sha256sums"}
