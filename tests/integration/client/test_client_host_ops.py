# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance mode, firewall rulesets, user events, reboot-and-wait (incl. a reboot that never returns)."""

from __future__ import annotations

import time

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    InputError, NotFoundError, RebootTimeoutError, TaskFailedError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import Host
from tests.simulator.harness import Simulator

from tests.integration.client.client_sim_helpers import HOST, connect

pytestmark = [pytest.mark.simulator]


def test_maintenance_mode_enter_exit_reports_change(client, host, sim):
    assert client.in_maintenance_mode(host) is False
    assert client.enter_maintenance_mode(host, timeout=30, vsan_mode="ensureObjectAccessibility") is True
    assert sim.state(HOST)["maintenance"] is True and client.host_facts(host)["in_maintenance_mode"] is True
    assert client.enter_maintenance_mode(host) is False
    assert client.exit_maintenance_mode(host) is True
    assert client.exit_maintenance_mode(host) is False
    assert sim.state(HOST)["maintenance"] is False
    with pytest.raises(InputError, match="vsan_mode"):
        client.enter_maintenance_mode(host, vsan_mode="sometimes")


def test_maintenance_mode_evacuation_and_server_side_timeout():
    topo = {"datacenters": [{"name": "DC1", "clusters": [{"name": "C1", "drs": True, "hosts": [
        {"name": "a.sim.local", "powered_on_vms": 2, "powered_off_vms": 1}, {"name": "b.sim.local"}]}],
        "hosts": [{"name": "solo.sim.local", "powered_on_vms": 1}]}]}
    with Simulator(mode="vc", topology=topo) as s, connect(s) as c:
        a = c.host("a.sim.local")
        assert len(s.state("a.sim.local")["vms"]) == 3
        assert c.enter_maintenance_mode(a, timeout=60, evacuate_powered_off_vms=True, vsan_mode="noAction")
        assert not s.state("a.sim.local")["vms"] and len(s.state("b.sim.local")["vms"]) == 3
        assert c.exit_maintenance_mode(a)
        # a standalone host cannot evacuate its powered-on VM: the server-side timeout ends the task
        solo = c.host("solo.sim.local")
        with pytest.raises(TaskFailedError) as ei:
            c.enter_maintenance_mode(solo, timeout=1)
        assert ei.value.details["fault_type"] == "Timedout" and ei.value.host == "solo.sim.local"
        assert c.in_maintenance_mode(solo) is False


def test_firewall_ruleset_set_and_restore(client, host):
    assert client.firewall_ruleset_enabled(host, "httpClient") is False
    assert client.set_firewall_ruleset(host, "httpClient", True) is False     # returns the previous state
    assert client.firewall_ruleset_enabled(host, "httpClient") is True
    with client.ruleset_open(host, "httpClient") as was:     # already open: left open afterwards
        assert was is True
    assert client.firewall_ruleset_enabled(host, "httpClient") is True
    assert client.set_firewall_ruleset(host, "httpClient", False) is True
    with pytest.raises(RuntimeError):
        with client.ruleset_open(host) as was:
            assert was is False and client.firewall_ruleset_enabled(host, "httpClient")
            raise RuntimeError("boom")
    assert client.firewall_ruleset_enabled(host, "httpClient") is False     # restored on the exception
    with pytest.raises(NotFoundError, match="firewall ruleset nope not found"):
        client.firewall_ruleset_enabled(host, "nope")
    assert "sshServer" in client.firewall_rulesets(host)


def test_log_user_event(client, host):
    text = "fleetpatch.esxi: deploy started on %s" % host.name
    assert client.log_user_event(host, text) is True
    assert client.host_events(host, event_types=["GeneralUserEvent"], max_count=1)[0]["message"] == text
    ghost = Host(client, "ghost.sim.local", "host-999999")
    with pytest.raises(NotFoundError) as ei:
        client.log_user_event(ghost, "x")
    assert ei.value.host == (ghost.name if client.is_vcenter else client.endpoint)


def test_reboot_outside_maintenance_mode_is_refused(client, host, sim):
    before = sim.state(HOST)["boot_time"]
    with pytest.raises(VSphereError) as ei:
        client.reboot(host, force=False, timeout=10)
    assert ei.value.details["fault_type"] == "InvalidState" and "maintenance mode" in str(ei.value)
    assert sim.state(HOST)["boot_time"] == before


def test_install_reboot_and_wait_new_build(client, host, sim, depot_server):
    url = depot_server.make_esxi_update_depot()
    assert client.enter_maintenance_mode(host)
    with client.ruleset_open(host):
        res = client.patch_install(host, meta_urls=[url])
    assert res["reboot_required"] and sim.state(HOST)["pending_build"] == "24022510"
    t0 = time.monotonic()
    new_host, info = client.reboot(host, timeout=60, poll_max=0.5)
    assert time.monotonic() - t0 < 30
    assert new_host.name == HOST and new_host.moid == host.moid
    assert info["rebooted"] and info["build_before"] == "22380479" and info["build_after"] == "24022510"
    assert info["boot_time_after"] > info["boot_time_before"] and info["in_maintenance_mode"] is True
    if sim.mode == "vc":
        assert "notResponding" in info["states"] and info["reconnected"] is False
        assert client.generation == 1
    else:
        assert info["reconnected"] is True and client.generation >= 2 and "reconnected" in info["states"]
        assert client.about["build"] == "24022510"
    facts = client.host_facts(new_host)
    assert (facts["version"], facts["build"]) == ("8.0.3", "24022510")
    assert client.esxcli.system_version_get(new_host)["build"] == "24022510"   # esxcli works on the new session
    assert client.exit_maintenance_mode(new_host)


def test_reboot_that_never_returns_times_out_with_last_state(client, host, sim):
    assert client.enter_maintenance_mode(host) in (True, False)
    sim.fault(HOST, "reboot_never_returns")
    t0 = time.monotonic()
    with pytest.raises(RebootTimeoutError) as ei:
        client.reboot(host, timeout=3, poll_max=0.5)
    took = time.monotonic() - t0
    assert took < 3 + 2 * client.timeout
    err = ei.value
    assert "last known state" in str(err) and err.details["last_state"]
    if sim.mode == "vc":
        assert err.details["last_state"] == "notResponding"
    else:
        assert err.details["last_state"].startswith(("unreachable", "session"))
    sim.clear_faults(HOST)
    facts = client.wait_connected(host, timeout=20)
    assert facts["connection_state"] == "connected"
    assert client.exit_maintenance_mode(host)
