"""Small pyVmomi helpers for the simulator tests."""
import time

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

FLING_80U3 = ("itiligent__ESXi-Custom-ISO", "8-updates", "ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip")
FLING_80U2 = ("itiligent__ESXi-Custom-ISO", "8-updates", "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip")
FLING_80U1 = ("itiligent__ESXi-Custom-ISO", "8-updates", "ESXi80U1-VMKUSB-NIC-FLING-64098092-component-21669994.zip")
FLING_670 = ("itiligent__ESXi-Custom-ISO", "6-updates", "ESXi670-VMKUSB-NIC-FLING-39203948-offline_bundle-16780994.zip")
NVME_670 = ("itiligent__ESXi-Custom-ISO", "6-updates", "nvme-community-driver_1.0.1.0-1vmw.670.0.0.8169922-offline_bundle-17658145.zip")
NET55_R8168 = ("itiligent__ESXi-Custom-ISO", "6-updates", "net55-r8168-8.045a-napi-offline_bundle.zip")
R8125_BUNDLE = ("itiligent__ESXi-Custom-ISO", "6-updates", "r8125-bundle.zip")
GHETTOVCB_2020 = ("lamw__ghettoVCB", "2020-12-29_37290df1", "vghetto-ghettoVCB-offline-bundle.zip")
GHETTOVCB_VIB = ("lamw__ghettoVCB", "2020-12-29_37290df1", "vghetto-ghettoVCB.vib")
INTEL_NVMUPD = ("money114__ESXI-Customized-Drives", "8.0u3", "Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip")

BULLETIN_80U3 = "VMware-vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077"
BULLETIN_80U2 = "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
BULLETIN_80U1 = "VMware-vmkusb-nic-fling_1.12-1vmw.801.0.0.64098092"
VIB_80U2 = "VMW_bootbank_vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
VIB_80U1 = "VMW_bootbank_vmkusb-nic-fling_1.12-1vmw.801.0.0.64098092"


def connect(sim, user=None, pwd=None):
    return SmartConnect(host=sim.host, port=sim.port, user=user or sim.user, pwd=pwd or sim.password,
                        sslContext=sim.ssl_context())


def disconnect(si):
    try:
        Disconnect(si)
    except Exception:  # noqa: BLE001 - the host may have rebooted
        pass


def find_host(si, name):
    view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.HostSystem], True)
    try:
        for h in view.view:
            if h.name == name:
                return h
    finally:
        view.Destroy()
    raise LookupError(name)


def wait_task(task, timeout=30):
    deadline = time.time() + timeout
    while task.info.state in ("queued", "running"):
        if time.time() > deadline:
            raise TimeoutError("task %s still %s" % (task, task.info.state))
        time.sleep(0.05)
    if task.info.state == "error":
        raise task.info.error
    return task.info.result


def wait_until(pred, timeout=15, interval=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - host may be down
            last = e
        time.sleep(interval)
    raise TimeoutError("condition not met: %r" % (last,))


def enable_http_client(host):
    host.configManager.firewallSystem.EnableRuleset(id="httpClient")
