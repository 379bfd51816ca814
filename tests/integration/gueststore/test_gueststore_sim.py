# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``_gueststore.manage`` through the real client layer (pyVmomi SOAP, datastore HTTPS /folder, FileManager,
datastore browser) against the simulator in vCenter and ESXi mode."""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._gueststore import gueststore as gs
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, EsxcliError, InputError, NotFoundError, PrecheckError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.datastore import DatastoreFiles

from tests.integration.gueststore.gueststore_sim_helpers import CLUSTER_HOSTS, client_factory, sim_params, write_tree

pytestmark = [pytest.mark.simulator, pytest.mark.network]


class CountingFiles(DatastoreFiles):
    """The real datastore client, counting uploads; ``fail_on`` makes the upload of that file fail (fault
    injection at the client boundary: the simulator has no switch for failing datastore uploads)."""

    def __init__(self, client, log, fail_on=None):
        super().__init__(client)
        self.log = log
        self.fail_on = fail_on

    def upload(self, datastore, path, src, host=None, make_parents=True):
        if self.fail_on and path.endswith(self.fail_on):
            raise VSphereError("PUT [%s] %s failed: HTTP 500" % (datastore, path), host=self.client.endpoint)
        self.log.append((datastore, path))
        return super().upload(datastore, path, src, host=host, make_parents=make_parents)


def manage(sim, check_mode=False, diff=False, files_log=None, fail_on=None, **kw):
    warnings, partial = [], {}
    log = files_log if files_log is not None else []
    res = gs.manage(sim_params(sim, **kw), check_mode=check_mode, partial=partial, diff=diff,
                    warn=warnings.append, client_factory=client_factory(sim),
                    files_factory=lambda c: CountingFiles(c, log, fail_on))
    res["_warnings"] = warnings
    return res


def fail(sim, exc, **kw):
    partial = {}
    with pytest.raises(exc) as e:
        gs.manage(sim_params(sim, **kw), partial=partial, warn=lambda m: None, client_factory=client_factory(sim))
    return e.value, partial


def urls(sim, names):
    return {n: sim.state(n)["gueststore_url"] for n in names}


def datastore_read(sim, datastore, path, host="esxi-01.sim.local"):
    c = client_factory(sim)(sim_params(sim))
    try:
        f = DatastoreFiles(c)
        h = c.find_hosts(names=[host])[0] if c.is_vcenter else None
        return f.read(datastore, path, host=h)
    except NotFoundError:
        return None
    finally:
        c.close()


URL = "ds:///vmfs/volumes/5f1e0e4a-8d1c9a2e-3c41-0025b5000a01/GuestStore"


def test_cluster_set_rerun_clear(gs_vc_sim):
    sim = gs_vc_sim
    r = manage(sim, cluster_name="C1", url=URL + "/")
    assert r["changed"] is True and r["repositories"] == []
    assert [h["name"] for h in r["hosts"]] == CLUSTER_HOSTS
    assert all(h["changed"] and h["url_before"] == "" and h["url_after"] == URL for h in r["hosts"])
    assert urls(sim, CLUSTER_HOSTS) == {n: URL for n in CLUSTER_HOSTS}
    assert r["_warnings"] == []                                  # 8.0 U2 and 7.0 U3 hosts: no warning
    assert [h["linux_guests"] for h in r["hosts"]] == [True, True, True]

    again = manage(sim, cluster_name="C1", url=URL)
    assert again["changed"] is False and not any(h["changed"] for h in again["hosts"])

    preview = manage(sim, cluster_name="C1", state="absent", check_mode=True, diff=True)
    assert preview["changed"] is True and urls(sim, CLUSTER_HOSTS) == {n: URL for n in CLUSTER_HOSTS}
    assert preview["diff"]["before"]["hosts"]["esxi-01.sim.local"] == URL
    assert preview["diff"]["after"]["hosts"]["esxi-01.sim.local"] == ""

    cleared = manage(sim, cluster_name="C1", state="absent")
    assert cleared["changed"] is True and urls(sim, CLUSTER_HOSTS) == {n: "" for n in CLUSTER_HOSTS}
    assert manage(sim, cluster_name="C1", state="absent")["changed"] is False


def test_content_sync_once_per_shared_datastore_then_unchanged(gs_vc_sim, tmp_path):
    sim = gs_vc_sim
    src = write_tree(str(tmp_path / "src"), {"agent/setup.msi": b"MSI" * 1000, "config.ini": b"[a]\nb=1\n",
                                             "scripts/win/run.ps1": b"Write-Host hi"})
    log = []
    # check mode first: nothing uploaded, nothing set, the plan and the diff are there
    pre = manage(sim, cluster_name="C1", datastore="C1-shared", path="GS-sync", src=src, check_mode=True, diff=True,
                 files_log=log)
    assert pre["changed"] is True and log == []
    assert pre["repositories"][0]["uploaded"] == ["agent/setup.msi", "config.ini", "scripts/win/run.ps1"]
    assert pre["diff"]["before"]["content"] == {"[C1-shared] GS-sync": {}}
    assert set(pre["diff"]["after"]["content"]["[C1-shared] GS-sync"]) == {"agent/setup.msi", "config.ini",
                                                                          "scripts/win/run.ps1"}
    assert urls(sim, CLUSTER_HOSTS) == {n: "" for n in CLUSTER_HOSTS}

    r = manage(sim, cluster_name="C1", datastore="C1-shared", path="GS-sync", src=src, files_log=log)
    assert r["changed"] is True
    assert len(r["repositories"]) == 1                            # one shared datastore, one copy
    repo = r["repositories"][0]
    assert repo["hosts"] == CLUSTER_HOSTS and repo["changed"] is True
    assert sorted(p for _d, p in log) == ["GS-sync/.fleetpatch-manifest.json", "GS-sync/agent/setup.msi",
                                          "GS-sync/config.ini", "GS-sync/scripts/win/run.ps1"]
    files = {f["path"]: f for f in repo["files"]}
    assert files["agent/setup.msi"]["guest_path"] == "/agent/setup.msi"
    assert files["agent/setup.msi"]["datastore_path"] == "[C1-shared] GS-sync/agent/setup.msi"
    assert files["agent/setup.msi"]["sha256"] == hashlib.sha256(b"MSI" * 1000).hexdigest()
    url = repo["url"]
    assert url.startswith("ds:///vmfs/volumes/") and url.endswith("/GS-sync")
    assert urls(sim, CLUSTER_HOSTS) == {n: url for n in CLUSTER_HOSTS}
    assert all(h["url_after"] == url and h["datastore"] == "C1-shared" for h in r["hosts"])
    assert datastore_read(sim, "C1-shared", "GS-sync/scripts/win/run.ps1") == b"Write-Host hi"
    manifest, problem = gs.load_manifest(datastore_read(sim, "C1-shared", "GS-sync/.fleetpatch-manifest.json"))
    assert problem is None and manifest["config.ini"]["size"] == 8

    # unchanged re-run: nothing uploaded
    del log[:]
    again = manage(sim, cluster_name="C1", datastore="C1-shared", path="GS-sync", src=src, files_log=log)
    assert again["changed"] is False and log == []
    assert again["repositories"][0]["unchanged"] == ["agent/setup.msi", "config.ini", "scripts/win/run.ps1"]

    # one file changed, one added, one removed locally; without delete_extra the removed one is kept
    write_tree(src, {"config.ini": b"[a]\nb=2\n", "new.txt": b"new"})
    os.remove(os.path.join(src, "scripts", "win", "run.ps1"))
    del log[:]
    kept = manage(sim, cluster_name="C1", datastore="C1-shared", path="GS-sync", src=src, files_log=log)
    repo = kept["repositories"][0]
    assert kept["changed"] is True and repo["uploaded"] == ["config.ini", "new.txt"]
    assert repo["kept"] == ["scripts/win/run.ps1"] and repo["deleted"] == []
    assert ("C1-shared", "GS-sync/agent/setup.msi") not in log
    assert not any(h["changed"] for h in kept["hosts"])           # URL already right
    assert datastore_read(sim, "C1-shared", "GS-sync/config.ini") == b"[a]\nb=2\n"

    # delete_extra removes the extra folder; then unchanged
    gone = manage(sim, cluster_name="C1", datastore="C1-shared", path="GS-sync", src=src, delete_extra=True, diff=True)
    assert gone["repositories"][0]["deleted"] == ["scripts"] and gone["repositories"][0]["uploaded"] == []
    assert "scripts/win/run.ps1" in gone["diff"]["before"]["content"]["[C1-shared] GS-sync"]
    assert "scripts/win/run.ps1" not in gone["diff"]["after"]["content"]["[C1-shared] GS-sync"]
    assert datastore_read(sim, "C1-shared", "GS-sync/scripts/win/run.ps1") is None
    assert manage(sim, cluster_name="C1", datastore="C1-shared", path="GS-sync", src=src,
                  delete_extra=True)["changed"] is False

    # a file changed on the datastore behind the module's back (other size) is uploaded again
    c = client_factory(sim)(sim_params(sim))
    try:
        import io
        DatastoreFiles(c).upload("C1-shared", "GS-sync/new.txt", io.BytesIO(b"tampered!"),
                                 host=c.find_hosts(names=["esxi-01.sim.local"])[0])
    finally:
        c.close()
    fixed = manage(sim, cluster_name="C1", datastore="C1-shared", path="GS-sync", src=src)
    assert fixed["repositories"][0]["uploaded"] == ["new.txt"]
    assert datastore_read(sim, "C1-shared", "GS-sync/new.txt") == b"new"
    manage(sim, cluster_name="C1", state="absent")


def test_sync_failure_sets_no_url(gs_vc_sim, tmp_path):
    sim = gs_vc_sim
    src = write_tree(str(tmp_path / "src"), {"a.txt": b"a", "b.txt": b"b"})
    partial = {}
    with pytest.raises(VSphereError) as e:
        gs.manage(sim_params(sim, cluster_name="C1", datastore="C1-shared", path="GS-fail", src=src), partial=partial,
                  client_factory=client_factory(sim), files_factory=lambda c: CountingFiles(c, [], "b.txt"))
    assert "content sync to [C1-shared] GS-fail failed, no host was changed" in str(e.value)
    assert urls(sim, CLUSTER_HOSTS) == {n: "" for n in CLUSTER_HOSTS}
    assert partial["repositories"][0]["failed"] is True
    assert partial["changed"] is True                             # a.txt was uploaded
    assert not any(h["changed"] for h in partial["hosts"])


def test_512_mib_file_refused_before_connecting(gs_vc_sim, tmp_path):
    src = write_tree(str(tmp_path / "src"), {"small.txt": b"x"})
    with open(os.path.join(src, "tools.iso"), "wb") as f:
        f.truncate(512 * 1024 * 1024 + 1)                         # sparse: nothing big is written

    def no_connection(params):
        raise AssertionError("must not connect")
    with pytest.raises(InputError) as e:
        gs.manage(sim_params(gs_vc_sim, cluster_name="C1", datastore="C1-shared", src=src), client_factory=no_connection)
    assert "tools.iso (536870913 bytes)" in str(e.value)


def test_host_below_7u2_fails_and_nothing_changes(gs_vc_sim):
    sim = gs_vc_sim
    err, partial = fail(sim, PrecheckError, esxi_hostname=["esxi-10.sim.local", "esxi-01.sim.local"], url=URL)
    assert "GuestStore needs ESXi 7.0 Update 2 or later; the host runs ESXi 6.7.0 build 8169922" in str(err)
    assert "1 of 2 host(s) failed the checks" in str(err) and err.details["failed_hosts"] == ["esxi-10.sim.local"]
    hosts = {h["name"]: h for h in partial["hosts"]}
    assert hosts["esxi-10.sim.local"]["failed"] is True and hosts["esxi-10.sim.local"]["error_kind"] == "precheck"
    assert hosts["esxi-10.sim.local"]["supported"] is False
    assert hosts["esxi-01.sim.local"]["changed"] is False and partial["changed"] is False
    assert urls(sim, ["esxi-01.sim.local", "esxi-10.sim.local"]) == {"esxi-01.sim.local": "",
                                                                    "esxi-10.sim.local": ""}
    # clearing: a host without GuestStore has nothing to clear
    r = manage(sim, esxi_hostname=["esxi-10.sim.local"], state="absent")
    assert r["changed"] is False and "nothing to clear" in r["hosts"][0]["msg"]


def test_host_7u2_gets_the_linux_warning_and_its_local_datastore(gs_vc_sim, tmp_path):
    sim = gs_vc_sim
    src = write_tree(str(tmp_path / "src"), {"w.txt": b"w"})
    # esxi-01 does not mount esxi-11-local: the checks fail and nothing is changed, not even on esxi-11
    err, partial = fail(sim, NotFoundError, esxi_hostname=["esxi-11.sim.local", "esxi-01.sim.local"],
                        datastore="esxi-11-local", src=src)
    assert "host esxi-01.sim.local" not in str(err) and "esxi-01.sim.local: datastore esxi-11-local not found" in \
        str(err)
    assert urls(sim, ["esxi-11.sim.local"]) == {"esxi-11.sim.local": ""}
    assert datastore_read(sim, "esxi-11-local", "GuestStore/w.txt", host="esxi-11.sim.local") is None

    r = manage(sim, esxi_hostname=["esxi-11.sim.local"], datastore="esxi-11-local", src=src)
    host = r["hosts"][0]
    assert r["changed"] is True and host["supported"] is True and host["linux_guests"] is False
    assert host["version"] == "7.0.2" and host["build"] == "17630552"
    assert len(r["_warnings"]) == 1 and r["_warnings"] == ["esxi-11.sim.local: " + host["warnings"][0]]
    assert "Windows guests only" in host["warnings"][0] and "7.0 Update 3" in host["warnings"][0]
    assert sim.state("esxi-11.sim.local")["gueststore_url"] == r["repositories"][0]["url"]
    assert manage(sim, esxi_hostname=["esxi-11.sim.local"], state="absent")["_warnings"] == []


def test_datastore_not_found(gs_vc_sim):
    sim = gs_vc_sim
    err, partial = fail(sim, NotFoundError, cluster_name="C1", datastore="no-such-ds")
    assert "datastore no-such-ds not found" in str(err) and "C1-shared" in str(err)
    assert err.details["failed_hosts"] == CLUSTER_HOSTS
    assert urls(sim, CLUSTER_HOSTS) == {n: "" for n in CLUSTER_HOSTS}


def test_wrong_credentials(gs_vc_sim):
    sim = gs_vc_sim
    with pytest.raises(AuthenticationError) as e:
        gs.manage(sim_params(sim, cluster_name="C1", url=URL, password="wrong-password"),
                  client_factory=client_factory(sim))
    assert "wrong-password" not in str(e.value) and "root" in str(e.value)


def test_vcenter_needs_a_host_selection(gs_vc_sim):
    err, _p = fail(gs_vc_sim, InputError, url=URL)
    assert "esxi_hostname, cluster_name or datacenter" in str(err)
    err, _p = fail(gs_vc_sim, NotFoundError, cluster_name="nope", url=URL)
    assert "cluster nope not found" in str(err)


def test_standalone_esxi_direct(gs_esx_sim, tmp_path):
    sim = gs_esx_sim
    src = write_tree(str(tmp_path / "src"), {"x/y.txt": b"y"})
    r = manage(sim, datastore="datastore1", src=src)
    assert r["changed"] is True and len(r["hosts"]) == 1 and r["hosts"][0]["name"] == "esxi-01.sim.local"
    assert sim.state("esxi-01.sim.local")["gueststore_url"] == r["repositories"][0]["url"]
    assert r["repositories"][0]["url"].endswith("/GuestStore")
    assert datastore_read(sim, "datastore1", "GuestStore/x/y.txt") == b"y"
    assert manage(sim, datastore="datastore1", src=src)["changed"] is False
    assert manage(sim, state="absent")["changed"] is True
    assert sim.state("esxi-01.sim.local")["gueststore_url"] == ""


def test_one_host_failing_to_set_leaves_the_others_set(gs_vc_sim):
    """Fault injection at the client boundary (the simulator has no fault switch for esxcli commands):
    ``gueststore_set`` fails on esxi-02 only."""
    sim = gs_vc_sim
    make = client_factory(sim)

    def factory(params):
        client = make(params)
        real = client.esxcli

        class FailingEsxcli(object):
            def __getattr__(self, name):
                return getattr(real, name)

            def gueststore_set(self, host, url):
                if host.name == "esxi-02.sim.local":
                    raise EsxcliError("esxcli system settings gueststore repository set failed: [InternalError] "
                                      "simulated", host=host.name)
                return real.gueststore_set(host, url)
        client._esxcli = FailingEsxcli()
        return client

    partial = {}
    with pytest.raises(EsxcliError) as e:
        gs.manage(sim_params(sim, cluster_name="C1", url=URL), partial=partial, client_factory=factory)
    assert "setting the GuestStore repository failed on 1 of 3 host(s): esxi-02.sim.local:" in str(e.value)
    assert e.value.details["failed_hosts"] == ["esxi-02.sim.local"]
    hosts = {h["name"]: h for h in partial["hosts"]}
    assert hosts["esxi-02.sim.local"]["failed"] is True and hosts["esxi-02.sim.local"]["changed"] is False
    assert hosts["esxi-01.sim.local"]["changed"] is True and hosts["esxi-03.sim.local"]["url_after"] == URL
    assert partial["changed"] is True
    assert urls(sim, CLUSTER_HOSTS) == {"esxi-01.sim.local": URL, "esxi-02.sim.local": "", "esxi-03.sim.local": URL}
    # the next run completes it
    r = manage(sim, cluster_name="C1", url=URL)
    assert [h["name"] for h in r["hosts"] if h["changed"]] == ["esxi-02.sim.local"]
    manage(sim, cluster_name="C1", state="absent")
