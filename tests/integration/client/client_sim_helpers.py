# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers of the client integration tests (a uniquely named module, importable from the tests)."""

from __future__ import annotations

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient

HOST = "esxi-01.sim.local"


def connect(sim, **kw):
    """A VSphereClient on the simulator, verifying its certificate with the harness CA."""
    args = dict(port=sim.port, ca_path=sim.ca_file, timeout=10)
    args.update(kw)
    return VSphereClient(sim.host, sim.user, sim.password, **args)


def arm_fault(sim, host, name, **params):
    """Arm a simulator fault switch. ``Simulator.fault(host, fault, **params)`` cannot pass the task_error
    parameter that is itself called ``fault`` (keyword clash), so this posts to the control API directly."""
    return sim._control("POST", "/_sim/fault", {"host": host, "fault": name, "params": params})
