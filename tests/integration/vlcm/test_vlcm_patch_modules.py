# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The baseline modules on both kinds of cluster: esxi_patch_scan works (read-only) on an image-managed cluster and
says so per host (``image_managed``, read from vCenter's ComputeResource.lifecycleManaged over SOAP);
esxi_patch_deploy refuses bulletins there unless allow_image_drift, naming esxi_cluster_remediate."""

from __future__ import annotations

import pytest

from tests.integration.vlcm.vlcm_helpers import run_playbook

pytestmark = [pytest.mark.simulator, pytest.mark.network]
EXPECTS_API = False          # the baseline modules speak SOAP only (conftest.spec_checked)


def test_scan_flags_image_managed_hosts(vlcm_sim, depots, tmp_path):
    before = {h: vlcm_sim.state(h)["current_vibs"] for h in ("esxi-21.sim.local", "esxi-22.sim.local")}
    res, _out = run_playbook(tmp_path, "scan_both.yml", vlcm_sim, {"depot_url": depots["update"],
                                                                   "bulletin": "ESXi_8.0.3-0.0.24022510"})
    img = {h["name"]: h for h in res["scan_img"]["hosts"]}
    base = {h["name"]: h for h in res["scan_base"]["hosts"]}
    assert sorted(img) == ["esxi-21.sim.local", "esxi-22.sim.local"]
    assert all(h["image_managed"] is True for h in img.values())
    assert [h["image_managed"] for h in base.values()] == [False]
    assert all(h["missing"] for h in img.values())            # the 8.0.3 update is reported, nothing installed
    assert not res["scan_img"]["changed"]
    assert {h: vlcm_sim.state(h)["current_vibs"] for h in before} == before

    r = res["deploy_refused"]
    assert r["failed"] and "esxi_cluster_remediate" in r["msg"] and "allow_image_drift" in r["msg"]
    assert "cluster IMG of host esxi-22.sim.local is managed with a single image" in r["msg"]
    r = res["deploy_drift"]
    assert not r.get("failed") and r["changed"], r.get("msg")
    r = res["deploy_base"]
    assert not r.get("failed") and r["changed"], r.get("msg")
    assert {h: vlcm_sim.state(h)["current_vibs"] for h in before} == before       # check mode: nothing installed
