"""Which name format each kind requires, as kube-apiserver applies them."""

import pytest
from fakekube.names import label_value_problems, name_problems, qualified_name_problems


@pytest.mark.parametrize(
    ("kind", "name", "valid"),
    [
        ("Namespace", "desk-alice", True),
        ("Namespace", "desk.alice", False),  # a label: no dots
        ("Namespace", "desk-Alice_1", False),
        ("Namespace", "a" * 63, True),
        ("Namespace", "a" * 64, False),
        ("Service", "desk-alice", True),
        ("Service", "1desk", False),  # DNS-1035: must start with a letter
        ("Service", "desk.alice", False),
        ("ConfigMap", "desk.alice", True),  # subdomain: dots allowed
        ("ConfigMap", "1desk", True),
        ("ConfigMap", "Desk", False),
        ("ConfigMap", "-desk", False),
        ("ConfigMap", "a" * 253, True),
        ("ConfigMap", "a" * 254, False),
        ("Deployment", "desk.alice", True),
        ("Pod", "desk-alice-5d8f", True),
        ("ClusterRole", "system:controller:desk", True),  # RBAC names are path segments
        ("ClusterRole", "a/b", False),
        ("Role", "..", False),
        ("CronJob", "a" * 52, True),
        ("CronJob", "a" * 53, False),
        ("ConfigMap", "", False),
    ],
)
def test_name_format_per_kind(kind, name, valid):
    assert (not name_problems(kind, name)) is valid


def test_namespace_message_names_the_rfc():
    (message,) = name_problems("Namespace", "Bad_Name")
    assert message.startswith("a lowercase RFC 1123 label must consist of")


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("app", True),
        ("app.kubernetes.io/name", True),
        ("nvidia.com/gpu.present", True),
        ("-app", False),
        ("Bad_Prefix/app", False),
        ("a" * 64, False),
    ],
)
def test_label_keys(key, valid):
    assert (not qualified_name_problems(key)) is valid


@pytest.mark.parametrize(
    ("value", "valid"), [("", True), ("v1.2_3", True), ("a b", False), ("x" * 64, False), (3, False)]
)
def test_label_values(value, valid):
    assert (not label_value_problems(value)) is valid
