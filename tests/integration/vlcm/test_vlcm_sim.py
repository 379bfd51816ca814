# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator's vLCM REST surface spoken raw (requests), every exchange validated against VMware's spec by the
autouse fixture of conftest.py; the task results additionally against the spec's report definitions."""

from __future__ import annotations

import time

import pytest
import requests

from tests.helpers.openapi import spec
from tests.integration.vlcm.vlcm_helpers import BASE_802, BASE_803

pytestmark = [pytest.mark.simulator, pytest.mark.network]


class Api(object):
    def __init__(self, sim):
        self.base = "https://%s:%d" % (sim.host, sim.port)
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.verify = sim.ca_file
        r = self.s.post(self.base + "/api/session", auth=(sim.user, sim.password))
        assert r.status_code == 201, r.text
        self.s.headers["vmware-api-session-id"] = r.json()

    def call(self, method, path, body=None, expect=200):
        r = self.s.request(method, self.base + path, json=body)
        assert r.status_code == expect, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def wait(self, task, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            info = self.call("GET", "/api/cis/tasks/" + task)
            if info["status"] in ("SUCCEEDED", "FAILED"):
                return info
            time.sleep(0.1)
        raise AssertionError("task %s did not finish" % task)

    def close(self):
        self.call("DELETE", "/api/session", expect=204)


def cluster_id(api, name):
    found = api.call("GET", "/api/vcenter/cluster?names=" + name)
    assert [c["name"] for c in found] == [name]
    return found[0]["cluster"]


def test_session_needs_the_right_password(vlcm_sim):
    r = requests.post("https://%s:%d/api/session" % (vlcm_sim.host, vlcm_sim.port), auth=(vlcm_sim.user, "wrong"),
                      verify=vlcm_sim.ca_file)
    assert r.status_code == 401 and r.json()["error_type"] == "UNAUTHENTICATED"
    r = requests.get("https://%s:%d/api/vcenter/cluster" % (vlcm_sim.host, vlcm_sim.port), verify=vlcm_sim.ca_file,
                     headers={"vmware-api-session-id": "forged"})
    assert r.status_code == 401


def test_image_compliance_draft_commit_check_apply(vlcm_sim, depots):
    api = Api(vlcm_sim)
    img, base = cluster_id(api, "IMG"), cluster_id(api, "BASE")
    assert api.call("GET", "/api/esx/settings/clusters/%s/enablement/software" % img) == {"enabled": True}
    assert api.call("GET", "/api/esx/settings/clusters/%s/enablement/software" % base) == {"enabled": False}
    api.call("GET", "/api/esx/settings/clusters/%s/software" % base, expect=404)
    sw = api.call("GET", "/api/esx/settings/clusters/%s/software" % img)
    assert sw["base_image"]["version"] == BASE_802
    comp = api.call("GET", "/api/esx/settings/clusters/%s/software/compliance" % img)
    assert comp["status"] == "COMPLIANT" and len(comp["compliant_hosts"]) == 2

    # a depot with the 8.0.3 base image, imported by URL (PULL)
    t = api.call("POST", "/api/esx/settings/depots/offline?vmw-task=true",
                 {"source_type": "PULL", "location": depots["update"], "description": "8.0.3"}, expect=202)
    info = api.wait(t)
    assert info["status"] == "SUCCEEDED", info
    depot_id = info["target"]["id"]
    bases = api.call("GET", "/api/esx/settings/depot-content/base-images")
    assert BASE_803 in [b["version"] for b in bases]

    draft = api.call("POST", "/api/esx/settings/clusters/%s/software/drafts" % img, expect=201)
    api.call("POST", "/api/esx/settings/clusters/%s/software/drafts" % img, expect=400)   # one draft per user
    api.call("PUT", "/api/esx/settings/clusters/%s/software/drafts/%s/software/base-image" % (img, draft),
             {"version": BASE_803}, expect=204)
    v = api.wait(api.call("POST", "/api/esx/settings/clusters/%s/software/drafts/%s?action=validate&vmw-task=true"
                          % (img, draft), expect=202))
    assert v["status"] == "SUCCEEDED" and not v["result"]["notifications"].get("errors"), v
    c = api.wait(api.call("POST", "/api/esx/settings/clusters/%s/software/drafts/%s?action=commit&vmw-task=true"
                          % (img, draft), {"message": "8.0.3"}, expect=202))
    assert c["status"] == "SUCCEEDED" and c["target"]["id"]
    api.call("GET", "/api/esx/settings/clusters/%s/software/drafts/%s" % (img, draft), expect=404)

    comp = api.call("GET", "/api/esx/settings/clusters/%s/software/compliance" % img)
    assert comp["status"] == "NON_COMPLIANT" and comp["impact"] == "REBOOT_REQUIRED"
    h = comp["hosts"][comp["non_compliant_hosts"][0]]
    assert h["base_image"]["current"]["version"] == BASE_802 and h["base_image"]["target"]["version"] == BASE_803

    chk = api.wait(api.call("POST", "/api/esx/settings/clusters/%s/software?action=check&vmw-task=true" % img, {},
                            expect=202))
    spec().validate(spec().definition("EsxSettingsClustersSoftwareReportsLastCheckResultCheckResult"), chk["result"],
                    "check result")
    assert chk["result"]["status"] == "OK", chk
    before = {n: vlcm_sim.state(n)["boot_time"] for n in ("esxi-21.sim.local", "esxi-22.sim.local")}
    app = api.wait(api.call("POST", "/api/esx/settings/clusters/%s/software?action=apply&vmw-task=true" % img,
                            {"accept_eula": True}, expect=202), timeout=60)
    spec().validate(spec().definition("EsxSettingsClustersSoftwareReportsLastApplyResultApplyResult"), app["result"],
                    "apply result")
    assert app["status"] == "SUCCEEDED", app
    assert len(app["result"]["successful_hosts"]) == 2
    for n in ("esxi-21.sim.local", "esxi-22.sim.local"):
        st = vlcm_sim.state(n)
        assert st["build"] == "24022510" and st["version"] == "8.0.3", st
        assert st["boot_time"] != before[n] and not st["maintenance"]
    assert vlcm_sim.state("esxi-31.sim.local")["build"] == "22380479"       # the baseline cluster is untouched
    comp = api.call("GET", "/api/esx/settings/clusters/%s/software/compliance" % img)
    assert comp["status"] == "COMPLIANT", comp
    api.call("DELETE", "/api/esx/settings/depots/offline/%s" % depot_id, expect=204)
    api.close()


def test_client_tunnels_through_the_proxy_and_logs_out(vlcm_sim, vlcm_log):
    """proxy_host/proxy_port: the vLCM REST client goes through an HTTP CONNECT proxy (the one of the release
    tests, a real proxy on 127.0.0.1 recording each tunnel); the session is logged out at the end."""
    from tests.integration.release.test_proxy import ConnectProxy
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import VlcmClient
    from tests.integration.vlcm.vlcm_helpers import read_log
    proxy = ConnectProxy()
    try:
        start = len(read_log(vlcm_log))
        with VlcmClient(vlcm_sim.host, vlcm_sim.user, vlcm_sim.password, port=vlcm_sim.port,
                        ca_path=vlcm_sim.ca_file, proxy_host="127.0.0.1", proxy_port=proxy.port) as c:
            assert c.image_managed(c.find_cluster("IMG")["cluster"])
        assert proxy.requests and all(r.startswith("CONNECT 127.0.0.1:%d " % vlcm_sim.port) for r in proxy.requests)
        log = read_log(vlcm_log)[start:]
        assert [(e["method"], e["url"], e["status"]) for e in log if e["url"] == "/api/session"] == [
            ("POST", "/api/session", 201), ("DELETE", "/api/session", 204)]
    finally:
        proxy.shutdown()
        proxy.server_close()
