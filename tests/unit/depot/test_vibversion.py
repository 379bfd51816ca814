# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VIB version ordering, relations and platform matching (_vibversion.py), and the vib_version test plugin."""

from __future__ import annotations

import os
import random

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vibversion import (
    VibVersion, compare, newest, normalize_relation, platform_version_matches, satisfies,
)
from ansible_collections.fleetpatch.esxi.plugins.test.vib_version import TestModule as VibTestModule, vib_version

from depot_oracle import BUNDLES, expect_vib, metadata_members, zip_tree


@pytest.mark.parametrize("a,b,expected", [
    ("1.10", "1.9", 1),
    ("1.9", "1.10", -1),
    ("1.10-1vmw.703.0.50.55634242", "1.9-1vmw.703.0.50.55634242", 1),
    ("1.12-1vmw.800.1.20.64098182", "1.10-1vmw.703.0.50.55634242", 1),
    ("1.14-1vmw.803.0.0.75399077", "1.14-2vmw.803.0.0.76444229", -1),     # release 1vmw < 2vmw
    ("1.14-7vmw.803.0.95.93415869", "1.14-2vmw.803.0.0.76444229", 1),
    ("10vmw", "9vmw", 1),
    ("6.7.0-0.0.8169922", "6.7.0-0.0.8169922", 0),
    ("6.7.0-0.0.8169922", "6.7.0", 1),                                       # empty release is lowest (esximage)
    ("6.7.0-0.1", "6.7.0-0.0", 1),
    ("8.0.3-0.35.24280767", "8.0.3-0.70.24674464", -1),
    ("8.045a-napi", "8.045-napi", 1),
    ("1.0.0-0.0.0", "1.0.0-0.0.1", -1),
    ("2.1-6vmw.650.2.50.39176435", "2.1-6vmw.670.2.48.39203948", -1),
])
def test_compare(a, b, expected):
    assert compare(a, b) == expected
    assert compare(b, a) == -expected
    assert (VibVersion.vib(a) == VibVersion.vib(b)) is (expected == 0)
    assert (VibVersion.vib(a) < VibVersion.vib(b)) is (expected < 0)


# ---- esximage's rules (docs/reference/esxi-software-stack-facts.md, "Versions" and "Relations") ------------------
@pytest.mark.parametrize("lower,higher", [
    ("1.0", "1.0-1"),            # an empty release is the field (-1, ''), the lowest
    ("1.0", "1.0-0"),
    ("1.0-", "1.0-0"),
    ("2abc10", "2abc9"),         # only the leading digit run is numeric; the rest compares as a string
    ("1-a10", "1-a9"),
    ("8.0", "8.0.0"),            # a shorter prefix is smaller
    ("abc", "0"),                # no leading digits: -1
    ("1.x", "1.0"),
    ("9vmw", "10vmw"),
    ("1.01a", "1.1b"),           # int('01') == 1, then 'a' < 'b'
    ("6.7.0", "6.7.0-0.0.8169922"),
])
def test_esximage_order(lower, higher):
    assert compare(lower, higher) == -1 and compare(higher, lower) == 1
    assert VibVersion.vib(lower) < VibVersion.vib(higher)
    assert VibVersion.vib(lower).sort_key() < VibVersion.vib(higher).sort_key()
    assert newest([higher, lower]) == higher and newest([lower, higher]) == higher


@pytest.mark.parametrize("a,b", [("1.01", "1.1"), ("1.0-01", "1.0-1"), ("8.0.3-0.35", "8.0.3-0.35")])
def test_esximage_equal(a, b):
    assert compare(a, b) == 0 and VibVersion.vib(a) == VibVersion.vib(b)


@pytest.mark.parametrize("text", ["1.0-1-1", "a-b-c", "1--2"])
def test_two_hyphens_are_a_parse_error(text):
    with pytest.raises(ValueError, match="Could not parse '%s' to a Vib version." % text):
        VibVersion.vib(text)
    with pytest.raises(ValueError):
        compare(text, "1.0")
    with pytest.raises(AnsibleFilterError, match="Could not parse"):
        vib_version(text, "1.0", ">")


@pytest.mark.parametrize("version,relation,wanted,ok", [
    # a constraint without a release compares the version part only
    ("6.7.0-0.0.8169922", "=", "6.7.0", True),
    ("6.7.0-0.0.8169922", "<=", "6.7.0", True),
    ("6.7.0-0.0.8169922", ">>", "6.7.0", False),
    ("6.7.0-0.0.8169922", "<<", "6.7.0", False),
    ("6.7.1-0.0.1", ">>", "6.7.0", True),
    # a constraint with a release compares the whole VIB version; the provide's empty release is the lowest
    ("1.0", "<<", "1.0-1", True),
    ("1.0", ">=", "1.0-0", False),
    ("1.0-1", ">=", "1.0-1", True),
    ("1.0-2", ">>", "1.0-10", False),
    ("2abc10", "<<", "2abc9", True),
    # an unversioned provide never satisfies a versioned constraint; no relation matches anything
    ("", ">=", "1.0", False), (None, "=", "1.0", False), ("", None, None, True), ("1.0", None, None, True),
])
def test_esximage_relations(version, relation, wanted, ok):
    assert satisfies(version, relation, wanted) is ok


def test_relation_matching_through_the_models():
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Relation
    assert Relation("esx-version", ">=", "6.7.0").matches("esx-version", "6.7.0-0.0.8169922")
    assert not Relation("vmkapi_2_13_0_0", ">=", "1.0").matches("vmkapi_2_13_0_0", None)
    assert Relation("vmkapi_2_13_0_0", None, None).matches("vmkapi_2_13_0_0", None)
    assert not Relation("x", "<<", "1.0-1").matches("x", "1.0-1")
    assert Relation("x", "<<", "1.0-1").matches("x", "1.0")


def test_sorting_is_numeric_per_field():
    versions = ["1.10", "1.9", "1.2", "1.10.1", "1.1", "2", "1.10-2", "1.10-10"]
    shuffled = versions[:]
    random.Random(1).shuffle(shuffled)
    ordered = sorted(shuffled, key=lambda v: VibVersion(v).sort_key())
    assert ordered.index("1.2") < ordered.index("1.9") < ordered.index("1.10") < ordered.index("1.10.1") \
        < ordered.index("2")
    assert ordered.index("1.10-2") < ordered.index("1.10-10")
    assert newest(versions) == "2"
    assert newest([]) is None


@pytest.mark.parametrize("version,relation,wanted,ok", [
    ("6.7.0-0.0.8169922", ">=", "6.7.0-0.0", True),
    ("6.7.0-0.0.8169922", "<<", "6.7.0-0.1", True),
    ("6.7.0-0.1.1", "<<", "6.7.0-0.1", False),
    ("5.5.0", "<<", "5.5.0", False),
    ("5.4.9", "<<", "5.5.0", True),
    ("1.0", "=", "1.0", True),
    ("1.0", ">>", "1.0", False),
    ("1.1", ">>", "1.0", True),
    ("1.0", "<=", "1.0", True),
    ("anything", None, None, True),
    (None, ">=", "1.0", False),
    ("1.1", "!=", "1.0", True),
    ("1.1", "<", "1.2", True), ("1.1", ">", "1.2", False), ("1.1", "==", "1.1", True),
])
def test_relations(version, relation, wanted, ok):
    assert satisfies(version, relation, wanted) is ok


def test_relations_of_real_constraints_are_known():
    """Every relation written in the real VIB XML is one of VMware's five (or absent)."""
    seen = set()
    for b in BUNDLES:
        for _k, members in metadata_members(zip_tree(b)):
            for n, data in members.items():
                if n.startswith("vibs/"):
                    e = expect_vib(data)
                    for rel in e["depends"] + e["conflicts"] + e["replaces"]:
                        seen.add(rel[1])
    assert seen <= {None, "<<", "<=", "=", ">=", ">>"} and "=" in seen
    for r in seen - {None}:
        assert normalize_relation(r) == r
    with pytest.raises(ValueError):
        normalize_relation("~=")


@pytest.mark.parametrize("pattern,version,ok", [
    ("5.*", "5.5.0", True), ("5.*", "6.7.0", False), ("6.*", "6.7.0", True),
    ("8.0", "8.0.3", True), ("8.0", "8.1.0", False), ("8.0.0", "8.0.3", True), ("8.0.0", "8.0.0", True),
    ("7.0.2", "7.0.3", False), ("7.0.2", "7.0.2", True), ("8.0.0", "8.1.0", False), ("6.7.0", "6.5.0", False),
    ("7.0.0", "7.0", True), ("", "9.0.0", True), ("*", "1", True), ("9.0", "", False),
])
def test_platform_version_matches(pattern, version, ok):
    assert platform_version_matches(pattern, version) is ok


# ---- the test plugin ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("a,op,b,ok", [
    ("1.12-1vmw.800.1.20.64098182", ">", "1.10-1vmw.703.0.50.55634242", True),
    ("1.12-1vmw.800.1.20.64098182", "<", "1.10-1vmw.703.0.50.55634242", False),
    ("1.10", ">>", "1.9", True), ("1.10", "<<", "1.9", False),
    ("1.10", ">=", "1.10", True), ("1.10", "<=", "1.9", False),
    ("1.10", "==", "1.10.0", False), ("1.10", "=", "1.10", True), ("1.10", "!=", "1.9", True),
    ("6.7.0-0.0.8169922", ">=", "6.7.0", True),
    ("1.0", "<", "1.0-1", True), ("1.0-1", ">", "1.0", True), ("1.0", "==", "1.0-1", False),
    ("2abc10", "<", "2abc9", True), ("1-a10", "<<", "1-a9", True), ("8.0", "<", "8.0.0", True),
    ("8.0.3", "<", "8.0.3-0.35.24280767", True),
])
def test_vib_version_test_plugin(a, op, b, ok):
    assert vib_version(a, b, op) is ok
    assert VibTestModule().tests()["vib_version"](a, b, op) is ok


def test_vib_version_plugin_errors():
    with pytest.raises(AnsibleFilterError, match="unknown operator"):
        vib_version("1", "2", "~")
    with pytest.raises(AnsibleFilterError, match="strings"):
        vib_version(1, "2", ">")
    with pytest.raises(AnsibleFilterError, match="empty"):
        vib_version("", "2", ">")
    assert vib_version("1.0", "1.0") is True        # default operator ==


def test_vib_version_plugin_doc_sidecar():
    import yaml
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "..", "plugins", "test", "vib_version.yml")
    with open(path) as f:
        doc = yaml.safe_load(f)
    assert doc["DOCUMENTATION"]["name"] == "vib_version"
    assert set(doc["DOCUMENTATION"]["options"]["operator"]["choices"]) == {"<", "<=", "==", "!=", ">=", ">", "<<",
                                                                           "=", ">>"}
    for op in doc["DOCUMENTATION"]["options"]["operator"]["choices"]:
        vib_version("1", "2", op)       # every documented operator is accepted
    assert "fleetpatch.esxi.vib_version" in doc["EXAMPLES"]
