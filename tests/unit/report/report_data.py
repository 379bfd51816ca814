# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host scan results for the report tests, computed by the real scan classifier (``_scan.classify``) from
real fixture bundles (VMware USB NIC fling components, the Realtek driver, the Intel nvmupdate component)."""

from __future__ import annotations

import json
import os

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import classify as _scan
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Provide, Relation, Vib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
REAL = os.path.join(ROOT, "tests", "fixtures", "real")
U8 = os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "8-updates")
BUNDLES = [
    os.path.join(U8, "ESXi80U2-VMKUSB-NIC-FLING-67561870-component-22416446.zip"),
    os.path.join(U8, "ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip"),
    os.path.join(U8, "VMware-Re-Driver_1.101.01-5vmw.800.1.0.20613240.zip"),
    os.path.join(REAL, "money114__ESXI-Customized-Drives", "8.0u3", "Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip"),
    os.path.join(REAL, "itiligent__ESXi-Custom-ISO", "7-updates",
                 "ESXi703-VMKUSB-NIC-FLING-55634242-component-19849370.zip"),
]
FLING_U3 = "VMware-vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077"
FLING_U2 = "VMware-vmkusb-nic-fling_1.12-2vmw.802.0.0.67561870"
RE_DRIVER = "VMware-Re-Driver_1.101.01-5vmw.800.1.0.20613240"
NVMUPDATE = "Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240"
FLING_703 = "VMware-vmkusb-nic-fling_1.10-1vmw.703.0.50.55634242"

IMAGES = {"8.0.2": "esxi-8.0u2.json", "7.0.3": "esxi-7.0u3.json"}
_DEPOT = []


def image_vibs(version):
    """The installed VIBs of the simulator's image for ``version`` (sim/images/*.json) as ``Vib`` objects."""
    with open(os.path.join(ROOT, "sim", "images", IMAGES[version])) as f:
        image = json.load(f)
    out = []
    for v in image["vibs"]:
        out.append(Vib(id=Vib.make_id(v["vendor"], v.get("type", "bootbank"), v["name"], v["version"]),
                       name=v["name"], version=v["version"], vendor=v["vendor"],
                       acceptance_level=v.get("acceptance", "certified"),
                       depends=tuple(Relation(d["name"], d.get("relation"), d.get("version"))
                                     for d in v.get("depends") or ()),
                       provides=tuple(Provide(p["name"], p.get("version")) for p in v.get("provides") or ())))
    return out


def depot():
    if not _DEPOT:
        _DEPOT.append(load_depot(BUNDLES))
    return _DEPOT[0]


def host_result(name, version, build, installed_bulletins=(), cluster=None, datacenter="DC1",
                scanned_at="2026-11-21T10:00:00+00:00"):
    """A per-host scan result (the esxi_patch_scan shape) for a host with the VIBs of ``installed_bulletins``."""
    d = depot()
    inventory = image_vibs(version) + [d.vibs[v] for b in installed_bulletins for v in d.bulletins[b].vib_ids]
    groups = _scan.classify(d, inventory, "embeddedEsx", version, acceptance_level="partner")
    selected = _scan.select(d)
    return dict(
        name=name, cluster=cluster, datacenter=datacenter, version=version, build=build,
        image_profile="ESXi-%s-%s-standard" % (version, build), acceptance_level="partner",
        compliant=_scan.compliant(groups, selected), scanned_at=scanned_at, depot_digest=d.digest, **groups)


def fleet():
    """Two clusters and a standalone host at different patch levels (the demo's shape)."""
    return {"changed": False, "hosts": [
        host_result("esxi-01.sim.local", "8.0.2", "22380479", [FLING_U3, RE_DRIVER, NVMUPDATE], cluster="Prod"),
        host_result("esxi-02.sim.local", "8.0.2", "22380479", [FLING_U2], cluster="Prod"),
        host_result("esxi-03.sim.local", "8.0.2", "22380479", [], cluster="Prod"),
        host_result("esxi-11.sim.local", "7.0.3", "21930508", [FLING_703], cluster="Legacy"),
        host_result("esxi-12.sim.local", "7.0.3", "21930508", [], cluster="Legacy"),
        host_result("esxi-20.sim.local", "8.0.2", "22380479", [FLING_U3, RE_DRIVER, NVMUPDATE]),
    ]}
