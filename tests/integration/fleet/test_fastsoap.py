# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fast reader of the ImageConfigManager answers (_clients/vsphere/fastsoap.py) against pyVmomi's own reading
of the SAME bytes, for every image the simulator has (real VIB lists of 6.7.0 GA, 7.0U2, 7.0U3, 8.0U2 and a Dell
7.0U3g host), over real SOAP; and a SOAP fault raised as pyVmomi raises it."""

from __future__ import annotations

import os

import pytest

from tests.integration.patch.patch_sim_helpers import params
from tests.simulator.harness import Simulator

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import fastsoap
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import iso
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.image_config import ImageConfigMixin

pyVmomi = pytest.importorskip("pyVmomi")
vim = pyVmomi.vim

IMAGES = sorted(f for f in os.listdir(os.path.join(os.path.dirname(__file__), "..", "..", "..", "sim", "images"))
                if f.endswith(".json"))
# (pyVmomi method name, fast reader, conversion of pyVmomi's object: what the client reports)
CALLS = [
    ("FetchSoftwarePackages", fastsoap.read_packages, ImageConfigMixin._package_records),
    ("QueryHostImageProfile", fastsoap.read_profile,
     lambda p: {"name": getattr(p, "name", None), "vendor": getattr(p, "vendor", None)}),
    ("InstallDate", fastsoap.read_date, iso),
    ("QueryHostAcceptanceLevel", fastsoap.read_string, lambda x: x),
]


@pytest.fixture(scope="module")
def client():
    topo = {"datacenters": [{"name": "DC1", "clusters": [{"name": "C1", "hosts": [
        {"name": "esx%02d" % i, "image": img} for i, img in enumerate(IMAGES)]}]}]}
    sim = Simulator(mode="vc", topology=topo)
    old = os.environ.get("REQUESTS_CA_BUNDLE")
    try:
        sim.start(timeout=120)
        os.environ["REQUESTS_CA_BUNDLE"] = sim.ca_file
        c = VSphereClient.from_params(params(sim, ["http://127.0.0.1:1/unused"]))
        c.connect()
        yield c
        c.close()
    finally:
        sim.stop()
        if old is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = old


def test_fast_reader_equals_pyvmomi_on_every_image(client):
    hosts = client.find_hosts(cluster="C1")
    assert len(hosts) == len(IMAGES) >= 5
    facts = client.hosts_facts(hosts)
    seen_packages = 0
    for h in hosts:
        icm = vim.host.ImageConfigManager(facts[h.moid]["image_config_manager"], client._stub)
        for method, read, convert in CALLS:
            status, body, info = fastsoap.post(client._stub, icm, method)
            assert status == 200, (h.name, method)
            fast = read(body)
            ref = convert(fastsoap.pyvmomi_read(client._stub, info, body))
            assert fast == ref, (h.name, method)
            # and the whole call (what the scan runs) answers the same as pyVmomi's own call
            assert fastsoap.call(client._stub, icm, method, read, convert) == convert(getattr(icm, method)())
            if method == "FetchSoftwarePackages":
                seen_packages += len(fast)
                assert fast and all(r["name"] and r["version"] for r in fast)
    assert seen_packages > 200      # 136 + 87 + ... real VIBs, not an empty answer compared with itself


def test_fault_is_raised_as_pyvmomi_raises_it(client):
    icm = vim.host.ImageConfigManager("imageConfigManager-does-not-exist", client._stub)
    with pytest.raises(Exception) as ref:
        icm.FetchSoftwarePackages()
    with pytest.raises(Exception) as fast:
        fastsoap.call(client._stub, icm, "FetchSoftwarePackages", fastsoap.read_packages,
                      ImageConfigMixin._package_records)
    assert type(fast.value) is type(ref.value)
    assert isinstance(fast.value, pyVmomi.vmodl.MethodFault), type(fast.value)
    assert type(fast.value).__name__.endswith("ManagedObjectNotFound")
    # the session is still usable afterwards (the connection went back to the pool or was dropped cleanly)
    assert client.find_hosts(cluster="C1")


def test_host_facts_read_fast_equal_pyvmomi(client, monkeypatch):
    """``hosts_facts`` (one RetrievePropertiesEx for every host, read by fastsoap.read_properties) gives what the
    same call read by pyVmomi gives, and what ``host_facts`` (one host at a time) gives."""
    hosts = client.find_hosts(cluster="C1")
    fast = client.hosts_facts(hosts)
    monkeypatch.setattr(type(client), "_retrieve_fast", lambda self, specs, objects: self._retrieve(specs, objects))
    ref = client.hosts_facts(hosts)
    assert fast == ref and len(fast) == len(IMAGES)
    for h in hosts:
        one = dict(fast[h.moid])
        assert one.pop("image_config_manager").startswith("imageConfigManager-")
        assert one == client.host_facts(h)
        assert one["version"] and one["build"] and one["boot_time"] and one["connection_state"] == "connected"


def test_inventory_rows_read_fast_equal_pyvmomi(client, monkeypatch):
    """The inventory (names and parents of every host, cluster, datacenter and folder, one RetrievePropertiesEx
    over a container view) read by fastsoap.read_properties gives pyVmomi's managed objects: the same types,
    moids, server GUIDs and stub as pyVmomi's reading of the same call, and the same names and parents."""
    def rows_of(rows):
        def mo(o):
            return (type(o).__name__, o._moId, getattr(o, "_serverGuid", None), getattr(o, "_stub", None))
        return sorted((mo(o), sorted((k, mo(v) if hasattr(v, "_moId") else v) for k, v in props.items()))
                      for o, props in rows)
    read, used = fastsoap.read_properties, []
    monkeypatch.setattr(fastsoap, "read_properties", lambda body: used.append(1) or read(body))
    fast = client._inventory_rows()
    assert used == [1] and all(type(o).__module__.startswith("pyVmomi") for o, _p in fast)
    monkeypatch.setattr(fastsoap, "read_properties", lambda body: (_ for _ in ()).throw(fastsoap.Unreadable("x")))
    ref = client._inventory_rows()
    assert rows_of(fast) == rows_of(ref)
    kinds = {r[0][0] for r in rows_of(fast)}
    assert {"vim.HostSystem", "vim.ClusterComputeResource", "vim.Datacenter", "vim.Folder"} <= kinds
    assert len(fast) >= len(IMAGES) + 3


def test_inventory_tree_holds_what_a_container_view_holds(client):
    """The inventory is read in ONE property-collector call that walks the tree from the root folder (no view to
    create and destroy): the same objects, names and parents as a recursive container view of the same types
    (the way it was read before, kept here as the reference), the datastore, VM and network folders included
    (datastore lookup walks up from a datastore's folder), and each host's ImageConfigManager."""
    specs = [(vim.HostSystem, ["name", "parent", "configManager.imageConfigManager"]),
             (vim.ComputeResource, ["name", "parent"]), (vim.Datacenter, ["name", "parent"]),
             (vim.Folder, ["name", "parent"])]
    content = client._content
    view = content.viewManager.CreateContainerView(content.rootFolder, [t for t, _p in specs], True)
    try:
        ref = client._retrieve(specs, container=view)
    finally:
        view.DestroyView()

    def rows_of(rows):
        def mo(o):
            return (type(o).__name__, o._moId)
        return sorted((mo(o), sorted((k, mo(v) if hasattr(v, "_moId") else v) for k, v in props.items()))
                      for o, props in rows)
    tree = client._inventory_rows()
    assert rows_of(tree) == rows_of(ref)
    names = {props.get("name") for _o, props in tree}
    assert {"datastore", "vm", "network", "host"} <= names
    icms = client.image_config_managers()
    assert len(icms) == len(IMAGES) and all(v and v.startswith("imageConfigManager-") for v in icms.values())
