# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_vlcm.image: the pure image/compliance logic. The vCenter documents used here are validated against VMware's
spec first (so the logic is tested on what vCenter can send, not on invented shapes)."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm import image as I
from tests.helpers.openapi import spec

SW = {"base_image": {"version": "8.0.2-0.0.22380479", "details": {"display_name": "ESXi",
                                                                  "display_version": "8.0 U2 - 22380479",
                                                                  "release_date": "2023-09-21T00:00:00.000Z"}},
      "components": {"VMware-vmkusb-nic-fling": {"version": "1.12-2vmw.802.0.0.67561870"}, "Old": {"version": "1"}},
      "solutions": {}}
CUR = I.image_view(SW)


def test_documents_are_vcenter_shaped():
    spec().validate(spec().definition("EsxSettingsSoftwareInfo"), SW, "software")


def test_image_view():
    assert CUR["base_image"] == {"version": "8.0.2-0.0.22380479", "display_name": "ESXi",
                                 "display_version": "8.0 U2 - 22380479", "release_date": "2023-09-21T00:00:00.000Z"}
    assert CUR["add_on"] is None and CUR["hardware_support"] is None
    assert CUR["components"] == {"Old": "1", "VMware-vmkusb-nic-fling": "1.12-2vmw.802.0.0.67561870"}


def test_plan_only_what_differs():
    assert I.plan_changes(CUR, I.desired_image({"base_image": "8.0.2-0.0.22380479"})) == {}
    assert I.plan_changes(CUR, I.desired_image({"components": {"Old": "1"}})) == {}
    plan = I.plan_changes(CUR, I.desired_image({"base_image": "8.0.3-0.0.24022510",
                                                "components": {"Old": None, "New": "2", "Gone": None}}))
    assert plan == {"base_image": "8.0.3-0.0.24022510", "components_to_set": {"New": "2"},
                    "components_to_delete": ["Old"]}
    after = I.after_image(CUR, plan)
    assert after["components"] == {"New": "2", "VMware-vmkusb-nic-fling": "1.12-2vmw.802.0.0.67561870"}
    assert I.plan_changes(CUR, I.desired_image({"add_on": {"name": "DEL", "version": "1"}})) == {
        "add_on": {"name": "DEL", "version": "1"}}
    assert I.plan_changes(CUR, I.desired_image({"add_on": {}})) == {}      # no add-on to remove


def test_spec_document_is_the_whole_image():
    doc = {"base_image": {"version": "8.0.2-0.0.22380479"}, "components": {"VMware-vmkusb-nic-fling": "1.14"}}
    assert I.plan_changes(CUR, I.desired_from_spec(doc)) == {
        "components_to_set": {"VMware-vmkusb-nic-fling": "1.14"}, "components_to_delete": ["Old"]}
    with pytest.raises(InputError, match="base_image.version is required"):
        I.desired_from_spec({"components": {}})
    with pytest.raises(InputError, match="unknown key"):
        I.desired_from_spec({"base_image": {"version": "x"}, "extra": 1})


def test_missing_from_depots_names_each_version():
    plan = {"base_image": "9.9.9-0.0.1", "components_to_set": {"A": "2", "B": "1"}}
    comps = [{"name": "A", "versions": [{"version": "1"}]}, {"name": "B", "versions": [{"version": "1"}]}]
    missing = I.missing_from_depots(plan, [{"version": "8.0.3-0.0.24022510"}], comps, [],
                                    current_base="8.0.2-0.0.22380479")
    assert missing == ["base image 9.9.9-0.0.1 (depots hold: 8.0.2-0.0.22380479, 8.0.3-0.0.24022510)",
                       "component A 2 (depots hold 1)"]
    assert I.missing_from_depots({"base_image": "8.0.2-0.0.22380479"}, [], [], [], "8.0.2-0.0.22380479") == []


def test_compliance_view_and_host_ids():
    comp = {"impact": "REBOOT_REQUIRED", "status": "NON_COMPLIANT", "notifications": {}, "scan_time": "t",
            "compliant_hosts": [], "non_compliant_hosts": ["host-2"], "incompatible_hosts": [],
            "unavailable_hosts": [], "commit": "3",
            "hosts": {"host-2": {"impact": "REBOOT_REQUIRED", "status": "NON_COMPLIANT", "notifications": {},
                                 "scan_time": "t", "solutions": {},
                                 "add_on": {"status": "COMPLIANT", "notifications": {}},
                                 "base_image": {"status": "NON_COMPLIANT", "notifications": {},
                                                "current": {"version": "a"}, "target": {"version": "b"}},
                                 "components": {"X": {"status": "NON_COMPLIANT", "notifications": {},
                                                      "target": {"version": "2"}}}}},
            "host_info": {"host-2": {"name": "esxi-2"}}}
    spec().validate(spec().definition("EsxSettingsClusterCompliance"), comp, "compliance")
    v = I.compliance_view(comp)
    assert v["status"] == "non_compliant" and v["impact"] == "reboot_required"
    assert v["hosts"] == [{"name": "esxi-2", "moid": "host-2", "status": "non_compliant", "impact": "reboot_required",
                           "base_image": {"current": "a", "target": "b"},
                           "components": [{"name": "X", "current": None, "target": "2", "status": "non_compliant"}]}]
    assert I.host_ids(comp, ["esxi-2"], "C") == ["host-2"]
    with pytest.raises(InputError, match="esxi-9 are not in cluster C"):
        I.host_ids(comp, ["esxi-9"], "C")


def test_task_results():
    check = {"status": "ERROR", "start_time": "t", "end_time": "t", "commit": "1",
             "host_info": {"host-2": {"name": "h2"}},
             "entity_results": [{"type": "HOST", "host": "host-2", "status": "ERROR", "check_statuses": [
                 {"check": {"check": "c", "name": {"id": "n", "default_message": "n", "args": []},
                            "description": {"id": "d", "default_message": "d", "args": []}},
                  "status": "ERROR", "issues": [{"id": "i", "default_message": "no space", "args": []}]}]}]}
    spec().validate(spec().definition("EsxSettingsClustersSoftwareReportsLastCheckResultCheckResult"), check, "check")
    assert I.check_findings(check) == {"status": "error",
                                       "issues": [{"entity": "h2", "status": "error", "message": "no space"}]}
    apply = {"status": {"status": "ERROR", "start_time": "t", "end_time": "t", "notifications": {}}, "commit": "1",
             "host_info": {"host-2": {"name": "h2"}}, "successful_hosts": [], "failed_hosts": ["host-2"],
             "skipped_hosts": [],
             "host_status": {"host-2": {"status": "ERROR", "start_time": "t", "end_time": "t", "notifications": {
                 "errors": [{"id": "e", "time": "t", "message": {"id": "m", "default_message": "boom", "args": []}}]}}}}
    spec().validate(spec().definition("EsxSettingsClustersSoftwareReportsLastApplyResultApplyResult"), apply, "apply")
    assert I.apply_hosts(apply) == [{"name": "h2", "moid": "host-2", "status": "error", "messages": ["boom"]}]


def test_policy_only_given_options_change_it():
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm.policy import wanted_policy
    cur = {"failure_action": {"action": "FAIL"}, "pre_remediation_power_action": "DO_NOT_CHANGE_VMS_POWER_STATE",
           "enable_quick_boot": False, "disable_dpm": True, "disable_hac": False, "evacuate_offline_vms": False,
           "enforce_hcl_validation": False, "parallel_remediation_action": {"enabled": False}}
    assert wanted_policy(cur, {}) is None
    assert wanted_policy(cur, {"disable_dpm": True, "failure_action": "fail"}) is None
    new = wanted_policy(cur, {"failure_action": "retry", "retry_count": 3, "retry_delay": 60, "quick_boot": True,
                              "vm_power_action": "power_off", "parallel_remediation": True, "max_parallel_hosts": 4})
    spec().validate(spec().definition("EsxSettingsClustersPoliciesApplyConfiguredPolicySpec"), new, "policy")
    assert new["failure_action"] == {"action": "RETRY", "retry_count": 3, "retry_delay": 60}
    assert new["pre_remediation_power_action"] == "POWER_OFF_VMS" and new["enable_quick_boot"] is True
    assert new["parallel_remediation_action"] == {"enabled": True, "max_hosts": 4}
    assert cur["failure_action"] == {"action": "FAIL"}                  # the input is not changed
    back = wanted_policy(new, {"failure_action": "fail", "parallel_remediation": False})
    assert back["failure_action"] == {"action": "FAIL"} and back["parallel_remediation_action"] == {"enabled": False}
