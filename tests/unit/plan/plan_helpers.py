# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared data of the plan unit tests: depots from the real fixture bundles, host inventories from the
simulator's image files (sim/images), the simulator's synthetic ESXi 8.0.3 update depot."""

from __future__ import annotations

import json
import os

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Provide, Relation, Vib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
REAL = os.path.join(ROOT, "tests", "fixtures", "real")
ITI = os.path.join(REAL, "itiligent__ESXi-Custom-ISO")
FLING_80U1 = os.path.join(ITI, "8-updates", "ESXi80U1-VMKUSB-NIC-FLING-64098092-component-21669994.zip")
FLING_80U2 = os.path.join(ITI, "8-updates", "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip")
FLING_80U3 = os.path.join(ITI, "8-updates", "ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip")
FLING_80U3_7 = os.path.join(ITI, "8-updates", "ESXi803-VMKUSB-NIC-FLING-93415869-component.zip")
FLING_670 = os.path.join(ITI, "6-updates", "ESXi670-VMKUSB-NIC-FLING-39203948-offline_bundle-16780994.zip")
NVME_670 = os.path.join(ITI, "6-updates",
                        "nvme-community-driver_1.0.1.0-1vmw.670.0.0.8169922-offline_bundle-17658145.zip")
SATA_XAHCI = os.path.join(REAL, "money114__ESXI-Customized-Drives", "6.7u3", "sata-xahci-1.42-1-offline_bundle.zip")
GHETTO = os.path.join(REAL, "lamw__ghettoVCB", "2020-12-29_37290df1", "vghetto-ghettoVCB-offline-bundle.zip")
ESXIMG_67 = os.path.join(REAL, "ljvblfz__ESXi", "var", "db", "esximg")

B_80U1 = "VMware-vmkusb-nic-fling_1.12-1vmw.801.0.0.64098092"
B_80U2 = "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
B_80U3 = "VMware-vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077"
B_80U3_7 = "VMware-vmkusb-nic-fling_1.14-7vmw.803.0.95.93415869"
V_80U2 = "VMW_bootbank_vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
V_80U3_7 = "VMW_bootbank_vmkusb-nic-fling_1.14-7vmw.803.0.95.93415869"


def _rels(items):
    return tuple(Relation(r["name"], r.get("relation") or None, r.get("version") or None) for r in items or ())


def image_vibs(name):
    """The VIBs of a simulator image file (sim/images/<name>) as Vib objects (8.0u2 and 7.0u3 list them)."""
    with open(os.path.join(ROOT, "sim", "images", name)) as fh:
        data = json.load(fh)
    out = []
    for r in data["vibs"]:
        out.append(Vib(
            id=Vib.make_id(r["vendor"], r.get("type", "bootbank"), r["name"], r["version"]), name=r["name"],
            version=r["version"], vendor=r["vendor"], type=r.get("type", "bootbank"),
            acceptance_level=r.get("acceptance", "certified"), depends=_rels(r.get("depends")),
            conflicts=_rels(r.get("conflicts")), replaces=_rels(r.get("replaces")),
            provides=tuple(Provide(p["name"], p.get("version") or None) for p in r.get("provides") or ()),
            maintenance_mode_required=r.get("maintenance_mode_required", True),
            live_install_allowed=r.get("live_install_allowed", False),
            live_remove_allowed=r.get("live_remove_allowed", False)))
    return out


def esx67_vibs():
    """The real ESXi 6.7.0 GA installed image (136 VIBs)."""
    return list(load_depot(ESXIMG_67).vibs.values())


def update_depot(tmpdir):
    """The simulator's SYNTHETIC ESXi 8.0.3 update depot (esx-base/vsan/esx-ui + profile) in ``tmpdir``; returns
    (folder path, DepotServer.last_update)."""
    from tests.simulator.fixtures import DepotServer
    srv = DepotServer(root=str(tmpdir))
    srv.url = "http://127.0.0.1:1"
    srv.make_esxi_update_depot()
    return os.path.join(str(tmpdir), "esxi-8.0u3-synthetic"), srv.last_update
