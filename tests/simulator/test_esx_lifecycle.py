"""Standalone ESXi: maintenance mode with running VMs, outages, shutdown, faults in ESX mode."""
import http.client
import time

import pytest
from pyVmomi import vim, vmodl

from tests.simulator import esxcli_helper as ec
from tests.simulator.fixtures import real_fixture
from tests.simulator.harness import Simulator
from tests.simulator.util import FLING_80U2, connect, disconnect, find_host, wait_task, wait_until

pytestmark = [pytest.mark.simulator]

HOST = "esx-vms.sim.local"
TOPO = {"hosts": [{"name": HOST, "image": "esxi-8.0u2.json", "powered_on_vms": 1, "powered_off_vms": 1,
                   "http_client_enabled": True}]}


@pytest.fixture
def sim():
    s = Simulator(mode="esx", topology=TOPO, reboot_down=0.5).start()
    yield s
    s.stop()


def test_enter_maintenance_mode_waits_for_running_vms(sim):
    si = connect(sim)
    h = find_host(si, HOST)
    assert sorted(vm.name for vm in h.vm) == ["esx-vms-vm01", "esx-vms-vm02"]
    task = h.EnterMaintenanceMode_Task(timeout=1)
    with pytest.raises(vim.fault.Timedout):
        wait_task(task)
    assert h.runtime.inMaintenanceMode is False
    # timeout 0: the task keeps running until the VM is powered off
    task = h.EnterMaintenanceMode_Task(timeout=0)
    time.sleep(0.3)
    assert task.info.state == "running"
    running = [vm for vm in h.vm if vm.runtime.powerState == "poweredOn"]
    wait_task(running[0].PowerOffVM_Task())
    wait_task(task)
    assert h.runtime.inMaintenanceMode is True
    disconnect(si)


def test_force_reboot_outside_maintenance_mode_and_never_returns(sim):
    si = connect(sim)
    h = find_host(si, HOST)
    sim.fault(HOST, "reboot_never_returns")
    wait_task(h.RebootHost_Task(force=True))
    wait_until(lambda: sim.state(HOST)["down"], timeout=5)
    time.sleep(1.0)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        connect(sim)
    assert sim.state(HOST)["down"] is True  # control API stays reachable
    sim.clear_faults(HOST)
    wait_until(lambda: not sim.state(HOST)["down"], timeout=10)
    si = connect(sim)
    h = find_host(si, HOST)
    # the VM that was running did not survive the reboot
    assert all(vm.runtime.powerState == "poweredOff" for vm in h.vm)
    disconnect(si)


def test_shutdown_and_power_on(sim):
    si = connect(sim)
    h = find_host(si, HOST)
    for vm in h.vm:
        if vm.runtime.powerState == "poweredOn":
            wait_task(vm.PowerOffVM_Task())
    wait_task(h.EnterMaintenanceMode_Task(timeout=0))
    boot = h.runtime.bootTime
    wait_task(h.ShutdownHost_Task(force=False))
    wait_until(lambda: sim.state(HOST)["down"], timeout=5)
    time.sleep(0.8)
    assert sim.state(HOST)["down"] is True
    sim.power_on(HOST)
    wait_until(lambda: not sim.state(HOST)["down"], timeout=10)
    si = connect(sim)
    assert find_host(si, HOST).runtime.bootTime > boot
    disconnect(si)


def test_disconnect_during_esxcli_install(sim, depot_server):
    url = depot_server.add_bundle(real_fixture(*FLING_80U2))
    si = connect(sim)
    h = find_host(si, HOST)
    sim.fault(HOST, "disconnect_during_install", seconds=0.5)
    with pytest.raises((ec.EsxcliFault, vmodl.fault.HostNotConnected, ConnectionError, http.client.HTTPException)):
        ec.esxcli(h, "software vib install", depot=[url])
    assert sim.state(HOST)["pending_vibs"] is None  # image unchanged
    wait_until(lambda: not sim.state(HOST)["down"], timeout=10)
    # hostd restarted: the old session is gone, a new one works and the install can be retried
    with pytest.raises(vim.fault.NotAuthenticated):
        h.name
    si = connect(sim)
    h = find_host(si, HOST)
    assert ec.esxcli(h, "software vib install", depot=[url])["RebootRequired"] == "true"
    disconnect(si)
