# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""clients/_vapi.py and _tagging.manage against the simulator's vAPI REST endpoints (real HTTPS, verified TLS)."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._tagging import tagging as _tagging
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, ConnectionFailedError, InputError, NotFoundError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vapi import SESSION_PATH, VapiClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient

from tests.integration.tag.tag_sim_helpers import conn, host_tags, vapi

pytestmark = [pytest.mark.simulator, pytest.mark.network]

BAD_PASSWORD = "Wr0ng-Passw0rd-xyz"


def moid_of(sim, name):
    with VSphereClient.from_params(conn(sim)) as c:
        return c.find_hosts(names=[name])[0].moid


def test_category_and_tag_creation(tag_vc_sim):
    with vapi(tag_vc_sim) as v:
        assert v.find_category("cl-cat") is None
        cat = v.create_category("cl-cat", description="d")
        assert cat["name"] == "cl-cat" and cat["cardinality"] == "SINGLE"
        assert cat["associable_types"] == ["HostSystem"] and cat["id"].startswith("urn:vmomi:")
        assert v.find_category("cl-cat") == cat
        # created by someone else in the meantime (already_exists): the existing one is returned
        assert v.create_category("cl-cat")["id"] == cat["id"]
        a = v.create_tag(cat["id"], "a")
        assert a["category_id"] == cat["id"] and a["name"] == "a"
        assert v.create_tag(cat["id"], "a")["id"] == a["id"]
        b = v.create_tag(cat["id"], "b")
        assert [t["name"] for t in v.tags_of_category(cat["id"])] == ["a", "b"]
        assert v.find_tag(cat["id"], "b") == b and v.find_tag(cat["id"], "zz") is None
        with pytest.raises(InputError):
            v.create_category("x", cardinality="ONE")
        with pytest.raises(NotFoundError) as ei:
            v.get_tag("urn:vmomi:InventoryServiceTag:nope:GLOBAL")
        assert "127.0.0.1:%s" % tag_vc_sim.port in str(ei.value)


def test_attach_exclusive_replace_and_detach(tag_vc_sim):
    moid = moid_of(tag_vc_sim, "esxi-03.sim.local")
    with vapi(tag_vc_sim) as v:
        cat = v.create_category("cl-single")
        a, b = v.create_tag(cat["id"], "a"), v.create_tag(cat["id"], "b")
        v.attach(a["id"], moid)
        assert v.attached_tag_ids(moid) == [a["id"]]
        # SINGLE cardinality: a second tag of the category is refused, as vCenter does
        with pytest.raises(VSphereError) as ei:
            v.attach(b["id"], moid)
        assert "Tagging cardinality violation" in str(ei.value)
        assert ei.value.details["vapi_error"] == "invalid_argument" and ei.value.details["http_status"] == 400
        # replace: detach first, then attach
        v.detach(a["id"], moid)
        v.attach(b["id"], moid)
        assert v.attached_tag_ids(moid) == [b["id"]]
        # a category for VMs only cannot tag a host
        vm_cat = v.create_category("cl-vm-only", associable_types=["VirtualMachine"])
        vm_tag = v.create_tag(vm_cat["id"], "vm")
        with pytest.raises(VSphereError, match="cannot be attached to objects of type HostSystem"):
            v.attach(vm_tag["id"], moid)
        v.detach(b["id"], moid)
        assert v.attached_tag_ids(moid) == []


def test_wrong_password_is_an_authentication_error(tag_vc_sim):
    with pytest.raises(AuthenticationError) as ei:
        vapi(tag_vc_sim, password=BAD_PASSWORD)
    text = str(ei.value)
    assert BAD_PASSWORD not in text and tag_vc_sim.password not in text
    assert "login as %s refused" % tag_vc_sim.user in text and "127.0.0.1:%s" % tag_vc_sim.port in text
    assert ei.value.details["http_status"] == 401 and ei.value.details["vapi_error"] == "unauthenticated"


def test_tls_is_verified(tag_vc_sim, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    with pytest.raises(ConnectionFailedError) as ei:
        vapi(tag_vc_sim, ca_path=None)
    assert ei.value.details.get("certificate_error") is True and "validate_certs" in str(ei.value)
    with vapi(tag_vc_sim, ca_path=None, validate_certs=False) as v:     # lab mode
        assert isinstance(v.list_categories(), list)


def test_lost_session_logs_in_again_and_logout_ends_it(tag_vc_sim):
    v = vapi(tag_vc_sim)
    v._send("DELETE", SESSION_PATH)                   # the session dies behind the client's back
    assert isinstance(v.list_categories(), list)      # one new login, transparently
    old = v._session_id
    v.close()
    v.close()                                         # twice is fine
    probe = VapiClient.from_params(conn(tag_vc_sim), connect=False)
    probe._session_id = old
    status, body = probe._send("GET", "/com/vmware/cis/tagging/category")
    assert status == 401 and body["type"] == "com.vmware.vapi.std.errors.unauthenticated"


def test_manage_present_exclusive_check_mode_absent(tag_vc_sim):
    names = ["esxi-01.sim.local", "esxi-02.sim.local"]
    base = dict(conn(tag_vc_sim), category="mg-compliance", esxi_hostname=names, state="present", exclusive=True,
                create=True)
    res = _tagging.manage(dict(base, tag="compliant"))
    assert res["changed"] and res["category"]["created"] and res["tag"]["created"]
    assert [h["tags_after"] for h in res["hosts"]] == [["compliant"], ["compliant"]]
    assert host_tags(tag_vc_sim, "mg-compliance", names) == {n: ["compliant"] for n in names}
    # check mode: predicts the switch, changes nothing
    one = dict(base, esxi_hostname=["esxi-01.sim.local"], tag="non-compliant")
    res = _tagging.manage(one, check_mode=True, diff=True)
    assert res["changed"] and res["tag"]["created"] and res["tag"]["id"] is None
    assert res["hosts"][0]["detached"] == ["compliant"] and res["hosts"][0]["attached"] == ["non-compliant"]
    assert res["diff"]["before"]["hosts"] == {"esxi-01.sim.local": ["compliant"]}
    assert res["diff"]["after"]["hosts"] == {"esxi-01.sim.local": ["non-compliant"]}
    assert host_tags(tag_vc_sim, "mg-compliance", names) == {n: ["compliant"] for n in names}
    # the switch itself, then once more: unchanged
    res = _tagging.manage(one)
    assert res["changed"] and res["hosts"][0]["tags_before"] == ["compliant"]
    assert _tagging.manage(one)["changed"] is False
    assert host_tags(tag_vc_sim, "mg-compliance", names) == {"esxi-01.sim.local": ["non-compliant"],
                                                             "esxi-02.sim.local": ["compliant"]}
    # exclusive=false on a SINGLE category: the host's other tag blocks it, clearly
    with pytest.raises(InputError) as ei:
        _tagging.manage(dict(base, esxi_hostname=["esxi-02.sim.local"], tag="non-compliant", exclusive=False))
    assert "cardinality SINGLE" in str(ei.value) and ei.value.details["failed_hosts"] == ["esxi-02.sim.local"]
    # absent without a tag: every tag of the category goes
    res = _tagging.manage(dict(base, state="absent", tag=None))
    assert res["changed"] and sorted(d for h in res["hosts"] for d in h["detached"]) == ["compliant", "non-compliant"]
    assert host_tags(tag_vc_sim, "mg-compliance", names) == {n: [] for n in names}
    assert _tagging.manage(dict(base, state="absent", tag="compliant"))["changed"] is False


def test_vapi_login_on_esxi_says_it_is_no_vcenter(tag_esx_sim):
    with pytest.raises(ConnectionFailedError) as ei:
        vapi(tag_esx_sim)
    assert "does not serve the vSphere Automation API" in str(ei.value) and tag_esx_sim.password not in str(ei.value)


def test_manage_refuses_a_direct_esxi_connection(tag_esx_sim):
    with pytest.raises(InputError) as ei:
        _tagging.manage(dict(conn(tag_esx_sim), category="c", tag="t", state="present"))
    assert ei.value.details["vcenter_required"] is True
    assert str(ei.value).startswith("host 127.0.0.1:%s: connected to an ESXi host directly" % tag_esx_sim.port)
