# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esxi_vlcm_depot through ansible-playbook: vCenter (the simulator) pulls an offline bundle from a depot_serve URL;
online depot add/sync/disable/remove; check mode and second runs change nothing; an unreachable depot fails
clearly, with the URL's token masked. Every exchange is spec-validated (conftest.spec_checked)."""

from __future__ import annotations

import json
import os
import zipfile

import pytest

from tests.integration.vlcm.vlcm_helpers import BASE_803, USB_FLING, run_playbook

pytestmark = [pytest.mark.simulator, pytest.mark.network]


def zip_folder(src, dst):
    with zipfile.ZipFile(dst, "w") as z:
        for base, _dirs, files in os.walk(src):
            for f in files:
                p = os.path.join(base, f)
                z.write(p, os.path.relpath(p, src))


def test_depots(vlcm_sim, depots, tmp_path):
    serve = tmp_path / "serve"
    serve.mkdir()
    zip_folder(os.path.join(depots["srv"].root, "esxi-8.0u3-synthetic"), str(serve / "esxi-8.0u3-bundle.zip"))
    online = depots["srv"].make_depot("flings", depots["flings"])
    token = "s3cr3t-T0ken-%d" % os.getpid()
    res, out = run_playbook(tmp_path, "depots.yml", vlcm_sim, {
        "serve_dir": str(serve), "state_dir": str(tmp_path / "srv-state"), "online_url": online, "token": token})

    r = res["import_check"]
    assert r["changed"] and r["actions"][0].startswith("import offline bundle http://127.0.0.1:")
    assert BASE_803 not in r["content"]["base_images"]
    r = res["import_done"]
    assert r["changed"] and BASE_803 in r["content"]["base_images"]
    assert [d["description"] for d in r["depots"]["offline"]] == ["ESXi 8.0 U3"]
    r = res["import_again"]
    assert not r["changed"] and r["actions"] == []

    r = res["online_added"]
    assert r["changed"] and r["actions"] == ["add online depot %s" % online, "synchronize the online depots"]
    assert "1.14-7vmw.803.0.95.93415869" in r["content"]["components"][USB_FLING]
    r = res["online_again"]
    assert not r["changed"] and r["actions"] == ["synchronize the online depots"]
    r = res["online_disabled"]
    assert r["changed"] and USB_FLING not in r["content"]["components"]
    assert [d["enabled"] for d in r["depots"]["online"] if d["location"] == online] == [False]
    r = res["online_removed"]
    assert r["changed"] and online not in [d["location"] for d in r["depots"]["online"]]

    r = res["unreachable"]
    assert r["failed"] and r["error_kind"] == "task_failed" and "Cannot import the offline depot" in r["msg"]
    assert "other-bundle.zip" in r["msg"]
    assert token not in json.dumps(res) and token not in out
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
    with VlcmClient(vlcm_sim.host, vlcm_sim.user, vlcm_sim.password, port=vlcm_sim.port, ca_path=vlcm_sim.ca_file) as c:
        assert [d["description"] for d in c.offline_depots().values()] == ["ESXi 8.0 U3"]   # no depot half-created
