# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One rollout and one report over both kinds of cluster, as a user runs them (ansible-playbook, inventory,
variables file): playbooks/remediate.yml sets the image-managed cluster's desired image (remediate_cluster_images),
patches the baseline host with bulletins and remediates each host of the image-managed cluster through vLCM
(esxi_cluster_remediate for that host: check, then apply), one host at a time; scan.yml writes one report where the
vLCM hosts are judged by their vLCM compliance. Check mode and second runs change nothing; a failed vLCM task fails
its host with vCenter's message and, with max_fail_percentage 0, no further host is touched."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.roles_vlcm.conftest import (
    BASE_802, BASE_803, BASE_HOSTS, HOSTS, IMG_HOSTS, U2_FLING, U2_VIB, Setup, start_sim, vlcm_client)
from tests.tooling import needs_tool

pytestmark = [pytest.mark.simulator, pytest.mark.slow, needs_tool("ansible-playbook")]


def recap(text):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+: (ok=.*)$", text, re.M)}


def import_update(sim, update_url):
    """vCenter pulls the 8.0.3 update into vLCM's depots (setup, as esxi_vlcm_depot would)."""
    with vlcm_client(sim) as c:
        assert c.wait_task(c.import_offline_depot(update_url), "import")["status"] == "SUCCEEDED"
        cid = c.find_cluster("IMG")["cluster"]
        return cid, c.compliance(cid)["commit"]


@pytest.fixture(scope="module")
def mixed(sim_factory, vlcm_log, update_url, tmp_path_factory):
    sim = start_sim(sim_factory, vlcm_log)
    setup = Setup(sim, tmp_path_factory.mktemp("mixed"), update_url)
    yield setup
    setup.stop_depot()


@pytest.fixture(scope="module")
def faulty(sim_factory, vlcm_log, update_url, tmp_path_factory):
    sim = start_sim(sim_factory, vlcm_log)
    setup = Setup(sim, tmp_path_factory.mktemp("faulty"), update_url)
    yield setup
    setup.stop_depot()


def test_one_rollout_and_one_report_over_both_kinds(mixed, update_url):
    sim = mixed.sim
    cid, commit = import_update(sim, update_url)
    builds = {h: sim.state(h)["build"] for h in HOSTS}

    # a first scan builds the depot; the baseline host is below the line, the vLCM hosts match their image
    rc, text = mixed.run("scan.yml", "-e", "scan_fail_mode=none")
    assert rc == 0, text[-6000:]
    hosts = {h["name"]: h for h in mixed.report()["hosts"]}
    assert {h: hosts[h]["status"] for h in HOSTS} == {"esxi-21.sim.local": "compliant",
                                                      "esxi-22.sim.local": "compliant",
                                                      "esxi-31.sim.local": "non_compliant"}

    # check mode: nothing changes (no commit of the image, no VIB, no maintenance mode)
    rc, text = mixed.run("remediate.yml", "--check")
    assert rc == 0, text[-6000:]
    out = mixed.rollout()
    assert out["esxi-31.sim.local"]["msg"] == "would install %s (check mode)" % U2_FLING
    assert out["esxi-31.sim.local"]["method"] == "baseline"
    assert all(out[h]["method"] == "vlcm" and out[h]["status"] == "unchanged" for h in IMG_HOSTS), out
    with vlcm_client(sim) as c:
        assert c.compliance(cid)["commit"] == commit and c.list_drafts(cid) == {}
    assert {h: sim.state(h)["build"] for h in HOSTS} == builds
    assert all(not sim.state(h)["maintenance"] for h in HOSTS)
    assert U2_VIB not in sim.state("esxi-31.sim.local")["current_vibs"]

    # the rollout: the image is set, each vLCM host remediated on its own, the baseline host patched
    rc, text = mixed.run("remediate.yml")
    assert rc == 0, text[-6000:]
    out = mixed.rollout()
    assert {h: out[h]["status"] for h in HOSTS} == {h: "remediated" for h in HOSTS}, out
    for h in IMG_HOSTS:
        assert out[h]["method"] == "vlcm" and out[h]["cluster"] == "IMG"
        assert out[h]["msg"] == "remediated to the image of cluster IMG (vLCM); base image %s -> %s" % (BASE_802,
                                                                                                       BASE_803)
        assert out[h]["build"] == "24022510" and sim.state(h)["build"] == "24022510"
    assert out["esxi-31.sim.local"]["method"] == "baseline"
    assert U2_VIB in sim.state("esxi-31.sim.local")["current_vibs"]
    assert sim.state("esxi-31.sim.local")["build"] == builds["esxi-31.sim.local"]
    assert re.search(r"remediated: esxi-21\.sim\.local, esxi-22\.sim\.local, esxi-31\.sim\.local", text), text[-3000:]
    assert "of image-managed clusters (through vLCM): esxi-21.sim.local, esxi-22.sim.local" in text

    # one report: every host, the vLCM hosts by their vLCM compliance, the gate passes
    rc, text = mixed.run("scan.yml")
    assert rc == 0, text[-6000:]
    rep = mixed.report()
    hosts = {h["name"]: h for h in rep["hosts"]}
    assert sorted(hosts) == HOSTS and rep["summary"]["compliant"] == 3
    assert rep["summary"]["image_managed_hosts"] == 2
    for h in IMG_HOSTS:
        assert hosts[h]["image_managed"] is True and hosts[h]["vlcm"]["status"] == "compliant"
        assert hosts[h]["vlcm"]["base_image"] == {"current": BASE_803, "target": BASE_803}
    assert hosts["esxi-31.sim.local"]["image_managed"] is False and "vlcm" not in hosts["esxi-31.sim.local"]
    img = [c for c in rep["clusters"] if c["name"] == "IMG"][0]
    assert img["image_managed"] and img["vlcm"]["image"]["base_image"]["version"] == BASE_803

    # a second rollout touches no host
    boot = {h: sim.state(h)["boot_time"] for h in HOSTS}
    rc, text = mixed.run("remediate.yml")
    assert rc == 0, text[-6000:]
    out = mixed.rollout()
    assert {h: out[h]["status"] for h in HOSTS} == {h: "unchanged" for h in HOSTS}, out
    assert all(recap(text)[h]["changed"] == 0 for h in HOSTS), recap(text)
    assert {h: sim.state(h)["boot_time"] for h in HOSTS} == boot


def test_failed_vlcm_task_fails_its_host_and_stops_the_rollout(faulty, update_url):
    sim = faulty.sim
    import_update(sim, update_url)
    builds = {h: sim.state(h)["build"] for h in HOSTS}

    # the image is wanted but not set yet: a scan reports the vLCM hosts non-compliant, explained by the depot
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._vlcm.ops import run_image
    run_image({"hostname": sim.host, "port": sim.port, "username": sim.user, "password": sim.password,
               "ca_path": sim.ca_file, "cluster": "IMG", "base_image": BASE_803}, check_mode=False)
    rc, text = faulty.run("scan.yml", "-e", "scan_fail_mode=none")
    assert rc == 0, text[-6000:]
    hosts = {h["name"]: h for h in faulty.report()["hosts"]}
    for h in IMG_HOSTS:
        assert hosts[h]["status"] == "non_compliant", hosts[h]
        assert "vLCM: base image %s -> %s" % (BASE_802, BASE_803) in hosts[h]["reasons"]
        assert [b["id"] for b in hosts[h]["vlcm"]["base_image"]["bulletins"]] == ["ESXi_8.0.3-0.0.24022510"]

    # check mode: vCenter's check only; every host would be remediated, nothing changes
    rc, text = faulty.run("remediate.yml", "--check", "-e", '{"remediate_cluster_images": {}}')
    assert rc == 0, text[-6000:]
    out = faulty.rollout()
    assert all(out[h]["status"] == "remediated" and out[h]["msg"].endswith("(check mode)") for h in HOSTS), out
    assert "would remediate to the image of cluster IMG (vLCM check passed" in out["esxi-21.sim.local"]["msg"]
    assert {h: sim.state(h)["build"] for h in HOSTS} == builds

    # the user's extra pre-checks run for a vLCM host too, after vCenter's check-only call: one that refuses the
    # host fails it (recorded, the rollout stops there) and nothing is applied
    prechecks = faulty.tmp / "prechecks.yml"
    prechecks.write_text(
        "- name: Refuse hosts of image-managed clusters (a user pre-check)\n"
        "  ansible.builtin.fail:\n"
        "    msg: user pre-check refused {{ patch_remediate_esxi_name }} of {{ patch_remediate_image_cluster }}\n"
        "  when: patch_remediate_image_cluster | default('') | length > 0\n")
    rc, text = faulty.run("remediate.yml", "--check", "-e", json.dumps(
        {"remediate_cluster_images": {}, "patch_remediate_precheck_tasks": str(prechecks)}))
    assert rc == 2, text[-6000:]
    out = faulty.rollout()
    assert {h: out[h]["status"] for h in HOSTS} == {"esxi-21.sim.local": "failed", "esxi-22.sim.local": "not_started",
                                                    "esxi-31.sim.local": "not_started"}, out
    assert out["esxi-21.sim.local"]["msg"] == "user pre-check refused esxi-21.sim.local of IMG", out
    assert {h: sim.state(h)["build"] for h in HOSTS} == builds

    # vCenter's apply task fails on the first host: it fails with vCenter's message, nothing else is touched
    sim._control("POST", "/_sim/fault", {"host": "esxi-21.sim.local", "fault": "vlcm_apply_fails", "params": {}})
    try:
        rc, text = faulty.run("remediate.yml", "-e", '{"remediate_cluster_images": {}}')
    finally:
        sim.clear_faults()
    assert rc == 2, text[-6000:]
    out = faulty.rollout()
    assert {h: out[h]["status"] for h in HOSTS} == {"esxi-21.sim.local": "failed", "esxi-22.sim.local": "not_started",
                                                    "esxi-31.sim.local": "not_started"}, out
    failed = out["esxi-21.sim.local"]
    assert failed["method"] == "vlcm" and "cluster IMG: remediation failed" in failed["msg"]
    assert "Remediation of host esxi-21.sim.local failed" in failed["msg"], failed["msg"]
    assert re.search(r"The rollout stopped at esxi-21\.sim\.local: cluster IMG: remediation failed", text)
    assert sim.state("esxi-22.sim.local")["build"] == builds["esxi-22.sim.local"]
    assert U2_VIB not in sim.state("esxi-31.sim.local")["current_vibs"]
    assert all(not sim.state(h)["maintenance"] for h in BASE_HOSTS + ["esxi-22.sim.local"])


def test_sliced_scan_report_holds_every_cluster(mixed, update_url, vlcm_log):
    """Two slices (--limit) scan into one record folder: the image-managed cluster's image info is kept as a
    cluster record by the slice that read it, so the report of the slice without IMG hosts still judges them by
    vLCM (never 'unknown', never from the compliance line)."""
    import json
    import os
    from tests.integration.roles_vlcm.conftest import U2_FLING_ZIP
    tmp = mixed.tmp
    records = str(tmp / "slice-records")
    extra = ["-e", json.dumps({"work": str(tmp), "patch_scan_record_dir": records,
                               "patch_scan_depot": [U2_FLING_ZIP, update_url]})]
    book = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "sliced_scan.yml")
    rc, text = mixed.run(book, "--limit", "esxi-21.sim.local,esxi-22.sim.local", *extra)
    assert rc == 0, text[-6000:]
    assert len(os.listdir(os.path.join(records, ".clusters"))) == 1
    from tests.integration.vlcm.vlcm_helpers import read_log
    start = len(read_log(vlcm_log))
    rc, text = mixed.run(book, "--limit", "esxi-31.sim.local", *extra)
    assert rc == 0, text[-6000:]
    assert not [e for e in read_log(vlcm_log)[start:] if "/software/compliance" in e["url"]]   # IMG not read
    with open(str(tmp / "reports-all" / "compliance.json")) as f:
        rep = json.load(f)
    hosts = {h["name"]: h for h in rep["hosts"]}
    assert sorted(hosts) == HOSTS
    for h in IMG_HOSTS:
        assert hosts[h]["image_managed"] and hosts[h]["vlcm"]["status"] in ("compliant", "non_compliant"), hosts[h]
        assert hosts[h]["status"] == ("compliant" if hosts[h]["vlcm"]["status"] == "compliant" else "non_compliant")
    assert hosts["esxi-31.sim.local"]["image_managed"] is False and "vlcm" not in hosts["esxi-31.sim.local"]
    assert [c for c in rep["clusters"] if c["name"] == "IMG"][0]["vlcm"]["recorded_at"]
