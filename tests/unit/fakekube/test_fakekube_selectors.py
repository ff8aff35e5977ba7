"""Label and field selectors, parsed from list requests and matched against objects."""

import pytest
from fakekube.errors import ApiError
from fakekube.selectors import fields_match, labels_match, parse_field_selector, parse_label_selector

LABELS = {"app": "desk", "tier": "gpu", "user": "alice"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=desk", True),
        ("app==desk", True),
        ("app=web", False),
        ("app!=web", True),
        ("app!=desk", False),
        ("missing!=x", True),
        ("tier in (gpu,cpu)", True),
        ("tier in (cpu)", False),
        ("missing in (x)", False),
        ("tier notin (cpu, arm)", True),
        ("tier notin (gpu)", False),
        ("missing notin (x)", True),
        ("user", True),
        ("missing", False),
        ("!missing", True),
        ("!user", False),
        ("app=desk,tier in (gpu),!legacy", True),
        ("app=desk,tier=cpu", False),
        ("", True),
    ],
)
def test_label_selector_operators(selector, matches):
    assert labels_match(LABELS, parse_label_selector(selector)) is matches


def test_numeric_comparisons():
    assert labels_match({"gpus": "2"}, parse_label_selector("gpus>1"))
    assert not labels_match({"gpus": "2"}, parse_label_selector("gpus<2"))


@pytest.mark.parametrize("selector", ["app in x", "a b", "!app=desk", "gpus>one"])
def test_bad_label_selectors_are_400(selector):
    with pytest.raises(ApiError) as raised:
        parse_label_selector(selector)
    assert raised.value.code == 400


POD = {
    "metadata": {"name": "p1", "namespace": "desk"},
    "spec": {"nodeName": "rover-1"},
    "status": {"phase": "Running"},
}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("metadata.name=p1", True),
        ("metadata.name==p1", True),
        ("metadata.name!=p1", False),
        ("metadata.namespace=desk", True),
        ("spec.nodeName=rover-1", True),
        ("spec.nodeName=rover-2", False),
        ("status.phase=Running,spec.nodeName=rover-1", True),
        ("status.phase!=Running", False),
    ],
)
def test_field_selectors_on_pods(selector, matches):
    assert fields_match(POD, parse_field_selector(selector, "Pod")) is matches


def test_unset_field_compares_as_empty_string():
    assert fields_match({"metadata": {"name": "p"}, "spec": {}}, parse_field_selector("spec.nodeName=", "Pod"))


def test_unsupported_field_label_is_400_like_kube_apiserver():
    with pytest.raises(ApiError) as raised:
        parse_field_selector("spec.nodeName=x", "ConfigMap")
    assert raised.value.code == 400
    assert "field label not supported: spec.nodeName" in raised.value.message
