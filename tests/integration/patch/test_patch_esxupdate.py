# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy against real-shaped esxupdate answers (sim/esxupdate templates, read by _esxi.esxupdate): a boot-bank
install is NeedsRebootResult (80), a success that is reported changed and rebooted; an esxupdate failure is reported
with its class, its real errno and every problem text. module_utils._patch.deploy is called directly (what the
module runs)."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import deploy as _deploy
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import failure_result

from patch_sim_helpers import B_80U2, V_80U2, Simulator, params

pytestmark = [pytest.mark.simulator, pytest.mark.slow]

HOSTS = ["x-ok", "x-dep", "x-inst"]


@pytest.fixture(scope="module")
def vc(sim_factory):
    topo = {"datacenters": [{"name": "DC1", "clusters": [{"name": "CX", "drs": True, "hosts": [
        {"name": n, "image": "esxi-8.0u2.json"} for n in HOSTS]}]}]}
    return sim_factory("vc", topology=topo, reboot_down=0.5)


def _params(vc, depots, host):
    return params(vc, [depots.all_url], esxi_hostname=[host], bulletins=[B_80U2], manage_firewall=True,
                  reboot_timeout=30)


def test_needs_reboot_result_is_changed_and_rebooted_then_no_op(vc, depots, sim_ca):
    sim_ca(vc)
    r = _deploy.run_deploy(_params(vc, depots, "x-ok"))
    h = r["hosts"][0]
    assert r["changed"] is True and h["rebooted"] is True
    step = [s for s in h["steps"] if s["kind"] == "install"][0]
    assert (step["result"]["outcome"], step["result"]["code"], step["result"]["reboot_required"]) == \
        ("NeedsRebootResult", 80, True)
    assert step["result"]["error"] is None
    assert V_80U2 in vc.state("x-ok")["current_vibs"]
    again = _deploy.run_deploy(_params(vc, depots, "x-ok"))
    assert again["changed"] is False and again["hosts"][0].get("rebooted") is not True


@pytest.mark.parametrize("host,cls,code,lines", [
    ("x-dep", "DependencyError", 14,
     ["VIB VMW_bootbank_vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870 requires vmkapi_2_99_0_0, but the requirement "
      "cannot be satisfied within the ImageProfile.",
      "VIBs (VMW_bootbank_a_1.0-1, VMW_bootbank_b_1.0-1) are conflicting with each other"]),
    ("x-inst", "InstallationError", 15, ["Failed to write the boot bank: [Errno 28] No space left on device"]),
])
def test_esxupdate_error_has_its_class_code_and_texts(vc, depots, sim_ca, host, cls, code, lines):
    sim_ca(vc)
    vc.fault(host, "esxupdate_error", **{"class": cls, "lines": "\n".join(lines)})
    partial = {"changed": False}
    try:
        with pytest.raises(FleetpatchError) as ei:
            _deploy.run_deploy(_params(vc, depots, host), partial=partial)
    finally:
        vc.clear_faults(host)
    err = ei.value
    res = failure_result(err, partial=partial)
    assert err.details["error_class"] == cls and err.details["error_code"] == code
    for line in lines:
        assert line in err.details["error_messages"] and line in res["msg"]
    assert "%s (esxupdate error %d)" % (cls, code) in res["msg"]
    assert V_80U2 not in (vc.state(host)["pending_vibs"] or []) and V_80U2 not in vc.state(host)["current_vibs"]
