# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VSphereClient.host_events: user events logged with log_user_event read back through an EventHistoryCollector
(real SOAP: CreateCollectorForEvents, RewindCollector, ReadNextEvents, DestroyCollector), directly on ESXi and
through vCenter."""

from __future__ import annotations

import datetime
import types

import pytest
from pyVmomi import vmodl

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError, VSphereError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import Host

from tests.integration.client.client_sim_helpers import HOST, connect

pytestmark = [pytest.mark.simulator]


class _SpyEventManager(object):
    """Passes calls to the real EventManager and remembers the collectors it created."""

    def __init__(self, em):
        self.em = em
        self.collectors = []

    def CreateCollectorForEvents(self, **kw):
        c = self.em.CreateCollectorForEvents(**kw)
        self.collectors.append(c)
        return c


def test_logged_events_are_read_back_with_their_message(client, host, sim):
    t0 = datetime.datetime.now(datetime.timezone.utc)
    texts = ["fleetpatch.esxi: events test #%d" % i for i in range(3)]
    for t in texts:
        assert client.log_user_event(host, t) is True
    evs = client.host_events(host, since=t0)
    assert [e["message"] for e in evs] == texts                      # oldest first, nothing older than t0
    for e in evs:
        assert e["type"] == "GeneralUserEvent" and e["user"] == sim.user
        assert e["full_message"] == "User logged event: " + e["message"]
        created = datetime.datetime.fromisoformat(e["created_time"])
        assert created.tzinfo is not None and created >= t0
    assert [e["key"] for e in evs] == sorted(e["key"] for e in evs)
    # the newest max_count; an ISO string works for since; a type filter
    assert [e["message"] for e in client.host_events(host, since=t0.isoformat(), max_count=2)] == texts[1:]
    assert client.host_events(host, since=t0, event_types=["HostConnectedEvent"]) == []
    assert client.host_events(host, since=datetime.datetime.now(datetime.timezone.utc)
                              + datetime.timedelta(hours=1)) == []


def test_collectors_are_destroyed(client, host):
    client.log_user_event(host, "fleetpatch.esxi: collector test")
    real = client._content
    spy = _SpyEventManager(real.eventManager)
    client._content = types.SimpleNamespace(eventManager=spy)
    try:
        assert client.host_events(host, max_count=1)[0]["message"] == "fleetpatch.esxi: collector test"
    finally:
        client._content = real
    assert len(spy.collectors) == 1
    with pytest.raises(vmodl.fault.ManagedObjectNotFound):
        spy.collectors[0].latestPage


def test_events_stay_on_their_host(vc_sim):
    with connect(vc_sim) as c:
        a, b = c.host(HOST), c.host("esxi-02.sim.local")
        t0 = datetime.datetime.now(datetime.timezone.utc)
        c.log_user_event(a, "fleetpatch.esxi: only on esxi-01")
        assert [e["message"] for e in c.host_events(a, since=t0)] == ["fleetpatch.esxi: only on esxi-01"]
        assert c.host_events(b, since=t0) == []


def test_bad_arguments_and_unknown_host(client, host):
    for bad in (0, 1001, "5", True):
        with pytest.raises(InputError, match="max_count"):
            client.host_events(host, max_count=bad)
    with pytest.raises(InputError, match="since"):
        client.host_events(host, since="yesterday")
    ghost = Host(client, "ghost.sim.local", "host-999999")
    with pytest.raises(VSphereError) as ei:
        client.host_events(ghost)
    assert ei.value.details["fault_type"] == "InvalidArgument"     # CreateCollectorForEvents: unknown entity
