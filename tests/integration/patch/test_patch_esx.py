# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esxi_patch_scan / esxi_patch_deploy on a simulated standalone ESXi 8.0U2 host, driven by ansible-playbook
(playbooks/esx_main.yml), connected by an IPv6 literal (``::1``): an air-gapped depot (a folder on the controller, fetched by the host from depot_url),
esxcli and patch manager installs, an automatically added ESXi update, scan records, secrets in depot URLs."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import record as _scan_record
from tests.simulator.fixtures import _Handler, _Server

from tests.integration.patch.patch_sim_helpers import (B_80U2, B_80U3_7, EXPECTED_MISSING, V_80U2, V_80U3_7, Simulator,
                                                       logged_events,
                               missing_ids, reported_events, run_playbook)

pytestmark = [pytest.mark.simulator, pytest.mark.slow]

HOST = "esxi-01.sim.local"
SECRET = "Tok3nS3cretValue"


@pytest.fixture(scope="module")
def esx(sim_factory):
    # on the IPv6 loopback: every playbook of this module connects with `hostname: "::1"` (an IPv6 literal)
    return sim_factory("esx", reboot_down=0.5, listen_host="::1")


class _Server6(_Server):
    address_family = socket.AF_INET6


@pytest.fixture(scope="module")
def ipv6_url(depots):
    """The same depot folder served on the IPv6 loopback: ``http://[::1]:<port>/all/index.xml``."""
    httpd = _Server6(("::1", 0), _Handler)
    httpd.depot = depots.srv
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield "http://[::1]:%d/all/index.xml" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def run(esx, depots, ipv6_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("esx_play")
    before = esx.state(HOST)
    secret_url = depots.all_url.replace("http://", "http://fleet:%s@" % SECRET)
    extra = {"depot_all": depots.all_url, "depot_all_path": depots.all_path, "depot_upd": depots.upd_url,
             "depot_all_secret": secret_url, "depot_all_v6": ipv6_url, "record_dir": str(tmp / "records"),
             "b_80u2": B_80U2, "b_80u3_7": B_80U3_7}
    results, text = run_playbook(tmp, "esx_main.yml", esx, extra)
    return results, text, before, depots, ipv6_url


def ok(r):
    assert not r.get("failed"), r.get("msg")
    return r


def test_air_gapped_scan_over_ipv6_and_no_secret_anywhere(run, esx):
    results, text, _b, depots, v6 = run
    h = ok(results["scan_airgap"])["hosts"][0]
    assert h["engine"] == "host" and missing_ids(h) == EXPECTED_MISSING["esxi-8.0u2.json"]
    assert h["metadata_urls"] == [v6.replace("index.xml", "metadata.zip")] and v6.startswith("http://[::1]:")
    v6scan = ok(results["scan_v6"])["hosts"][0]
    assert missing_ids(v6scan) == EXPECTED_MISSING["esxi-8.0u2.json"] and v6scan["engine"] == "host"
    assert h["endpoint"] == "[::1]:%d" % esx.port
    key = _scan_record.host_key(HOST, "[::1]:%d" % esx.port, via_vcenter=False)
    assert key.startswith("esxi-01.sim.local_1_%d_" % esx.port) and h["scan_record"].endswith("/%s.json" % key)
    s = ok(results["scan_secret"])
    assert missing_ids(s["hosts"][0]) == EXPECTED_MISSING["esxi-8.0u2.json"]
    assert SECRET not in text and SECRET not in json.dumps(results)
    assert "********" in s["hosts"][0]["metadata_urls"][0]


def test_esxcli_deploy_from_air_gapped_depot(run, esx):
    results, _t, before, _d, v6 = run
    p = ok(results["plan_u2"])
    assert p["changed"] is True and p["plan"]["install"] == [V_80U2] and esx.state(HOST)["boot_time"] != ""
    d = ok(results["deploy_u2"])
    h = d["hosts"][0]
    assert d["changed"] is True and h["rebooted"] is True and h["reboot"]["reconnected"] is True
    assert h["steps"][0]["method"] == "esxcli" and h["steps"][0]["dry_run"]["installed"] == [V_80U2]
    assert h["verified"]["active"] == [V_80U2] and h["compliant"] is True
    assert V_80U2 in d["diff"]["after"] and V_80U2 not in d["diff"]["before"]
    a = ok(results["again_u2"])
    assert a["changed"] is False and a["hosts"][0]["steps"] == []


def test_dependency_update_added_and_host_reboots_into_803(run, esx):
    results, _t, _b, depots, _v6 = run
    d = ok(results["deploy_u3"])
    plan = d["plan"]
    assert [a["bulletin"] for a in plan["added_dependencies"]] == [depots.upd["bulletin"]]
    assert sorted(plan["install"]) == sorted(depots.upd["vibs"] + [V_80U3_7]) and V_80U2 in plan["remove"]
    h = d["hosts"][0]
    assert h["rebooted"] is True and h["rescan"]["version"] == "8.0.3" and h["compliant"] is True
    st = esx.state(HOST)
    assert st["build"] == depots.upd["build"] and V_80U3_7 in st["current_vibs"] and V_80U2 not in st["current_vibs"]
    assert st["maintenance"] is False and st["http_client_enabled"] is False
    r = ok(results["record_u3"])
    assert r["changed"] is False and r["hosts"][0]["scan"]["engine"] == "controller"
    stale = results["stale_record"]
    assert stale["failed"] is True and stale["error_kind"] == "precheck" and "other depot metadata" in stale["msg"]
    after = ok(results["scan_after"])
    assert after["compliant"] is True and after["hosts"][0]["version"] == "8.0.3"


def test_deploys_post_start_and_end_events_on_the_host(run, esx):
    """Each deploy that changed the host left a start and an end user event on it, also across its reboots (the
    end event is posted on the new session after the host came back)."""
    reported = reported_events(run[0])
    assert list(reported) == [HOST]
    evs = logged_events(esx, HOST)
    msgs = [e["message"] for e in evs]
    assert sorted(msgs) == sorted(reported[HOST]) and all(e["user"] == esx.user for e in evs)
    assert [m.split(" ")[2] for m in msgs] == ["started", "finished"] * (len(msgs) // 2) and len(msgs) >= 4
    u2 = [e["message"] for e in ok(run[0]["deploy_u2"])["hosts"][0]["events"]]
    assert u2 == msgs[msgs.index(u2[0]):msgs.index(u2[0]) + 2]
    assert u2[0].startswith("fleetpatch.esxi: deploy started on %s: install 1 VIB(s)" % HOST)
    assert B_80U2 in u2[0] and "method esxcli" in u2[0]
    assert u2[1] == "fleetpatch.esxi: deploy finished on %s: changed, rebooted" % HOST
