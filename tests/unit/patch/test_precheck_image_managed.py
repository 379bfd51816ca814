# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy pre-check that refuses bulletins on a host of an image-managed (vLCM) cluster.

The patch_remediate role routes such a host to esxi_cluster_remediate by the blocker's ``cluster`` key, so the key
is part of the contract (not only the message text)."""

from __future__ import annotations

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.precheck import image_managed_blockers


def test_image_managed_host_is_refused_and_names_its_cluster():
    entry = {"name": "esx-31.sim.local", "cluster": "Edge West", "image_managed": True}
    (blocker,) = image_managed_blockers(entry)
    assert blocker["type"] == "image_managed"
    assert blocker["cluster"] == "Edge West" and blocker["host"] == "esx-31.sim.local"
    assert "esxi_cluster_remediate" in blocker["detail"] and "Edge West" in blocker["detail"]


def test_allow_image_drift_and_baseline_hosts_pass():
    entry = {"name": "esx-31.sim.local", "cluster": "Edge", "image_managed": True}
    assert image_managed_blockers(entry, allow_image_drift=True) == []
    assert image_managed_blockers({"name": "esx-01", "cluster": "Prod", "image_managed": False}) == []
    # unknown (None: could not be told) is not image-managed for the pre-check: the scan says so per host
    assert image_managed_blockers({"name": "esx-02", "cluster": None, "image_managed": None}) == []
