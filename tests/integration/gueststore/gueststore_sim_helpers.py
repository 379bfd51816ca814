# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers of the GuestStore integration tests (a uniquely named module, importable from the tests)."""

from __future__ import annotations

import os

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

# DC1: cluster C1 (shared datastore C1-shared) with two 8.0 U2 hosts and a 7.0 U3 host; standalone hosts with
# their own local datastores: esxi-10 (6.7, below 7.0 U2) and esxi-11 (7.0 U2, between U2 and U3).
VC_TOPOLOGY = {"datacenters": [{
    "name": "DC1",
    "clusters": [{"name": "C1", "drs": True, "hosts": [
        {"name": "esxi-01.sim.local", "image": "esxi-8.0u2.json"},
        {"name": "esxi-02.sim.local", "image": "esxi-8.0u2.json"},
        {"name": "esxi-03.sim.local", "image": "esxi-7.0u3.json"},
    ]}],
    "hosts": [{"name": "esxi-10.sim.local", "image": "esxi-6.7.0-ga.json"},
              {"name": "esxi-11.sim.local", "image": "esxi-7.0u2.json"}],
}]}
CLUSTER_HOSTS = ["esxi-01.sim.local", "esxi-02.sim.local", "esxi-03.sim.local"]


def sim_params(sim, **kw):
    """Module options for the simulator (the client of ``client_factory`` verifies it with the harness CA)."""
    p = {"hostname": sim.host, "username": sim.user, "password": sim.password, "port": sim.port,
         "validate_certs": True, "state": "present", "esxi_hostname": None, "cluster_name": None, "datacenter": None,
         "url": None, "datastore": None, "path": None, "src": None, "delete_extra": False}
    p.update(kw)
    return p


def client_factory(sim):
    def make(params):
        return VSphereClient(params["hostname"], params["username"], params["password"], port=params["port"],
                             ca_path=sim.ca_file, timeout=10)
    return make


def write_tree(root, files):
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    return root
