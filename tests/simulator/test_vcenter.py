"""vCenter mode: topology, maintenance mode with DRS evacuation, reboot via vCenter, fault switches."""
import time

import pytest
from pyVmomi import vim, vmodl

from tests.simulator import esxcli_helper as ec
from tests.simulator.fixtures import real_fixture
from tests.simulator.harness import Simulator
from tests.simulator.util import (BULLETIN_80U2, FLING_80U2, VIB_80U2, connect, disconnect, enable_http_client, find_host,
                   wait_task, wait_until)

pytestmark = [pytest.mark.simulator]

TOPOLOGY = {
    "datacenters": [
        {"name": "DC1",
         "clusters": [
             {"name": "C1", "drs": True, "hosts": [
                 {"name": "esxi-01.sim.local", "image": "esxi-8.0u2.json", "powered_on_vms": 2},
                 {"name": "esxi-02.sim.local", "image": "esxi-8.0u2.json", "http_client_enabled": True},
                 {"name": "esxi-03.sim.local", "image": "esxi-7.0u3.json"}]},
             {"name": "C2", "drs": False, "hosts": [
                 {"name": "esxi-04.sim.local", "image": "esxi-8.0u2.json", "powered_on_vms": 1},
                 {"name": "esxi-05.sim.local", "image": "esxi-8.0u2.json", "http_client_enabled": True}]}],
         "hosts": [{"name": "esxi-10.sim.local", "image": "esxi-6.7.0-ga.json", "powered_on_vms": 1}]},
        {"name": "DC2",
         "clusters": [{"name": "C3", "hosts": [{"name": "esxi-21.sim.local", "http_client_enabled": True}]}]},
    ]
}


@pytest.fixture(scope="module")
def vc(sim_factory):
    return sim_factory("vc", topology=TOPOLOGY, reboot_down=0.8)


@pytest.fixture(scope="module")
def si(vc):
    si = connect(vc)
    yield si
    disconnect(si)


def test_inventory_from_topology(si, vc):
    assert si.content.about.apiType == "VirtualCenter"
    dcs = {dc.name: dc for dc in si.content.rootFolder.childEntity}
    assert set(dcs) == {"DC1", "DC2"}
    clusters = {c.name: c for c in dcs["DC1"].hostFolder.childEntity if isinstance(c, vim.ClusterComputeResource)}
    assert set(clusters) == {"C1", "C2"}
    assert clusters["C1"].configurationEx.drsConfig.enabled is True
    assert sorted(h.name for h in clusters["C1"].host) == ["esxi-01.sim.local", "esxi-02.sim.local", "esxi-03.sim.local"]
    standalone = [c for c in dcs["DC1"].hostFolder.childEntity if not isinstance(c, vim.ClusterComputeResource)]
    assert [c.host[0].name for c in standalone] == ["esxi-10.sim.local"]
    assert sorted(vc.hosts()) == sorted(["esxi-01.sim.local", "esxi-02.sim.local", "esxi-03.sim.local",
                                         "esxi-04.sim.local", "esxi-05.sim.local", "esxi-10.sim.local",
                                         "esxi-21.sim.local"])
    h3 = find_host(si, "esxi-03.sim.local")
    assert (h3.summary.config.product.version, h3.summary.config.product.build) == ("7.0.3", "21930508")
    assert find_host(si, "esxi-10.sim.local").summary.config.product.build == "8169922"


def test_shared_datastore_and_vms(si):
    hosts = [find_host(si, "esxi-0%d.sim.local" % i) for i in (1, 2, 3)]
    for h in hosts:
        assert "C1-shared" in [d.name for d in h.datastore]
    ds = [d for d in hosts[0].datastore if d.name == "C1-shared"][0]
    assert sorted(m.key.name for m in ds.host) == sorted(h.name for h in hosts)
    vms = hosts[0].vm
    assert len(vms) == 2 and all(vm.runtime.powerState == "poweredOn" for vm in vms)


def test_per_host_manager_morefs_are_unique(si):
    pms = set()
    for name in ("esxi-01.sim.local", "esxi-02.sim.local", "esxi-10.sim.local"):
        h = find_host(si, name)
        pm = h.configManager.patchManager
        assert pm._moId.startswith("patchManager-")
        assert h.configManager.imageConfigManager._moId.startswith("imageConfigManager-")
        pms.add(pm._moId)
    assert len(pms) == 3


def test_drs_cluster_evacuates_powered_on_vms(si, vc):
    h1 = find_host(si, "esxi-01.sim.local")
    vm_names = sorted(vm.name for vm in h1.vm)
    wait_task(h1.EnterMaintenanceMode_Task(timeout=30))
    assert h1.runtime.inMaintenanceMode is True
    assert h1.vm == []
    moved = []
    for name in ("esxi-02.sim.local", "esxi-03.sim.local"):
        moved += [(vm.name, vm.runtime.host.name) for vm in find_host(si, name).vm]
    assert sorted(n for n, _ in moved) == vm_names
    assert all(h != "esxi-01.sim.local" for _, h in moved)
    assert vc.state("esxi-01.sim.local")["maintenance"] is True
    wait_task(h1.ExitMaintenanceMode_Task(timeout=0))
    assert h1.runtime.inMaintenanceMode is False


def test_non_drs_and_standalone_hosts_with_running_vms_time_out(si):
    for name in ("esxi-04.sim.local", "esxi-10.sim.local"):
        h = find_host(si, name)
        t0 = time.time()
        with pytest.raises(vim.fault.Timedout):
            wait_task(h.EnterMaintenanceMode_Task(timeout=1))
        assert time.time() - t0 >= 0.9
        assert h.runtime.inMaintenanceMode is False
    # once the VM is powered off, entering succeeds
    h = find_host(si, "esxi-04.sim.local")
    for vm in h.vm:
        wait_task(vm.PowerOffVM_Task())
    wait_task(h.EnterMaintenanceMode_Task(timeout=5))
    assert h.runtime.inMaintenanceMode is True


def test_vcenter_reboot_not_responding_then_connected(si, vc, depot_server):
    h = find_host(si, "esxi-02.sim.local")
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    wait_task(h.EnterMaintenanceMode_Task(timeout=0))
    wait_task(h.configManager.patchManager.InstallHostPatchV2_Task(metaUrls=[url]))
    boot = h.runtime.bootTime
    wait_task(h.RebootHost_Task(force=False))
    wait_until(lambda: h.runtime.connectionState == "notResponding", timeout=5)
    with pytest.raises(vmodl.fault.HostNotConnected):
        wait_task(h.configManager.patchManager.ScanHostPatchV2_Task(metaUrls=[url]))
    with pytest.raises(vmodl.fault.HostNotConnected):
        h.configManager.imageConfigManager.HostImageConfigGetAcceptance()
    with pytest.raises(vmodl.fault.HostNotConnected):
        ec.retrieve_mme(h)
    wait_until(lambda: h.runtime.connectionState == "connected", timeout=10)
    assert h.runtime.bootTime > boot
    assert h.runtime.inMaintenanceMode is True  # the vCenter session survived, host still in MM
    st = {s.id: s for s in wait_task(h.configManager.patchManager.ScanHostPatchV2_Task(metaUrls=[url])).status}
    assert st[BULLETIN_80U2].installed
    assert VIB_80U2 in vc.state("esxi-02.sim.local")["current_vibs"]


def test_reboot_never_returns_until_cleared(si, vc):
    h = find_host(si, "esxi-05.sim.local")
    wait_task(h.EnterMaintenanceMode_Task(timeout=0))
    vc.fault("esxi-05.sim.local", "reboot_never_returns")
    wait_task(h.RebootHost_Task(force=False))
    wait_until(lambda: h.runtime.connectionState == "notResponding", timeout=5)
    time.sleep(1.5)  # longer than reboot_down
    assert h.runtime.connectionState == "notResponding"
    assert vc.state("esxi-05.sim.local")["down"] is True
    vc.clear_faults("esxi-05.sim.local")
    wait_until(lambda: h.runtime.connectionState == "connected", timeout=10)


def test_task_error_slow_tasks_and_disconnect_during_install(si, vc, depot_server):
    name = "esxi-21.sim.local"
    h = find_host(si, name)
    pm = h.configManager.patchManager
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    wait_task(h.EnterMaintenanceMode_Task(timeout=0))
    # task_error: the next patch task fails with the given fault, the one after works
    vc.fault(name, "task_error", type="PlatformConfigFault", text="simulated esxupdate crash")
    with pytest.raises(vim.fault.PlatformConfigFault) as e:
        wait_task(pm.ScanHostPatchV2_Task(metaUrls=[url]))
    assert e.value.text == "simulated esxupdate crash"
    wait_task(pm.ScanHostPatchV2_Task(metaUrls=[url]))
    vc.fault(name, "task_error", type="RequestCanceled", method="InstallV2")
    wait_task(pm.ScanHostPatchV2_Task(metaUrls=[url]))  # not for this method
    with pytest.raises(vmodl.fault.RequestCanceled):
        wait_task(pm.InstallHostPatchV2_Task(metaUrls=[url]))
    # slow_tasks: tasks stay running for a while
    vc.fault(name, "slow_tasks", seconds=0.8)
    t0 = time.time()
    task = pm.ScanHostPatchV2_Task(metaUrls=[url])
    assert task.info.state in ("queued", "running")
    wait_task(task)
    assert time.time() - t0 >= 0.75
    vc.clear_faults(name)
    # disconnect in the middle of an install: the task fails, the image is unchanged, the host returns
    vc.fault(name, "disconnect_during_install", seconds=0.5)
    with pytest.raises(vmodl.fault.HostNotConnected):
        wait_task(pm.InstallHostPatchV2_Task(metaUrls=[url]))
    assert vc.state(name)["pending_vibs"] is None
    wait_until(lambda: h.runtime.connectionState == "connected", timeout=10)
    wait_task(pm.InstallHostPatchV2_Task(metaUrls=[url]))
    assert VIB_80U2 in vc.state(name)["pending_vibs"]


def test_control_api_validation(vc):
    from tests.simulator.harness import SimulatorError
    with pytest.raises(SimulatorError):
        vc.fault("esxi-01.sim.local", "no_such_fault")
    with pytest.raises(SimulatorError):
        vc.state("no-such-host")


def test_sixty_hosts_in_two_datacenters():
    """60 hosts from a topology start and are found by name with their own images (the start time is measured
    by bench/bench_sim.py, not asserted here)."""
    topo = {"datacenters": [{"name": "DC%d" % d, "clusters": [
        {"name": "C%d" % c, "hosts": [{"name": "esx-%d-%d-%02d.sim.local" % (d, c, i),
                                        "image": "esxi-8.0u2.json" if i % 2 else "esxi-7.0u3.json"}
                                       for i in range(10)]} for c in range(3)]} for d in range(2)]}
    with Simulator(mode="vc", topology=topo) as s:
        assert len(s.hosts()) == 60
        si = connect(s)
        h = find_host(si, "esx-1-2-07.sim.local")
        assert h.summary.config.product.build == "22380479"
        assert enable_http_client(h) is None
        disconnect(si)
