# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connecting: TLS verification, credentials, unreachable endpoints, session lifetime, host lookup, facts."""

from __future__ import annotations

import atexit
import json
import socket
import threading
import time

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, ConnectionFailedError, InputError, NotFoundError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import Host, VSphereClient

from tests.integration.client.client_sim_helpers import HOST, connect

pytestmark = [pytest.mark.simulator]

FACT_KEYS = {"name", "moid", "version", "build", "patch_level", "product_line", "full_name", "api_version",
             "boot_time", "connection_state", "power_state", "in_maintenance_mode", "cluster", "datacenter",
             "vcenter_managed", "management_server_ip", "endpoint"}


@pytest.fixture
def no_ca_env(monkeypatch):
    for var in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(var, raising=False)


def test_connect_with_ca_validates(sim, no_ca_env):
    with connect(sim) as c:
        assert c.validate_certs and c.connected and c.session_alive()
        assert c.is_vcenter == (sim.mode == "vc")
        about = c.about
        assert about["api_type"] == ("VirtualCenter" if sim.mode == "vc" else "HostAgent")
        assert c.endpoint == "127.0.0.1:%d" % sim.port
        json.dumps(about)
    assert not c.connected


def test_ca_bundle_from_environment(sim, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.ca_file)
    c = VSphereClient(sim.host, sim.user, sim.password, port=sim.port, timeout=10)
    assert c.session_alive()
    c.close()


def test_certificate_not_trusted_fails_clearly(sim, no_ca_env):
    t0 = time.monotonic()
    with pytest.raises(ConnectionFailedError) as ei:
        VSphereClient(sim.host, sim.user, sim.password, port=sim.port, validate_certs=True, timeout=10)
    err = ei.value
    assert "certificate" in str(err) and "validate_certs" in str(err)
    assert err.host == "127.0.0.1:%d" % sim.port and err.details["certificate_error"] is True
    assert err.to_result()["error_kind"] == "connection"
    assert time.monotonic() - t0 < 5


def test_validate_certs_false_connects(sim, no_ca_env):
    with VSphereClient(sim.host, sim.user, sim.password, port=sim.port, validate_certs=False, timeout=10) as c:
        assert c.session_alive()


def test_wrong_password(sim):
    secret = "Wr0ng-Secret-Pass"
    with pytest.raises(AuthenticationError) as ei:
        VSphereClient(sim.host, sim.user, secret, port=sim.port, ca_path=sim.ca_file, timeout=10)
    err = ei.value
    assert "127.0.0.1:%d" % sim.port in str(err) and "incorrect user name or password" in str(err)
    assert secret not in str(err) and secret not in json.dumps(err.to_result())
    assert err.kind == "authentication"


def test_unreachable_port_is_bounded():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()   # nothing listens there now
    t0 = time.monotonic()
    with pytest.raises(ConnectionFailedError) as ei:
        VSphereClient("127.0.0.1", "root", "x", port=port, validate_certs=False, timeout=2)
    assert "connection refused" in str(ei.value) and "127.0.0.1:%d" % port in str(ei.value)
    assert time.monotonic() - t0 < 3


def test_silent_server_times_out_within_timeout():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    port = srv.getsockname()[1]
    accepted = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(srv.accept()[0])   # accept and never answer
            except OSError:
                pass
    th = threading.Thread(target=accept, daemon=True)
    th.start()
    try:
        t0 = time.monotonic()
        with pytest.raises(ConnectionFailedError) as ei:
            VSphereClient("127.0.0.1", "root", "x", port=port, validate_certs=False, timeout=1)
        assert time.monotonic() - t0 < 4
        assert "timed out" in str(ei.value)
    finally:
        stop.set()
        th.join(2)
        for c in accepted:
            c.close()
        srv.close()


def test_dns_failure():
    with pytest.raises(ConnectionFailedError, match="cannot resolve"):
        VSphereClient("no-such-host.invalid", "root", "x", validate_certs=False, timeout=2)


def test_hostname_required():
    with pytest.raises(InputError):
        VSphereClient("", "root", "x")


def test_close_is_idempotent_and_unregisters_atexit(sim):
    c = connect(sim)
    c.close()
    c.close()
    assert not c.connected
    with pytest.raises(ConnectionFailedError, match="not connected"):
        c.find_hosts()
    # a closed client is no longer referenced by atexit (unregister does not fail either)
    atexit.unregister(c.close)


def test_ensure_session_relogs_after_logout(sim):
    with connect(sim) as c:
        c._content.sessionManager.Logout()      # the server forgets the session
        assert not c.session_alive()
        assert c.ensure_session(timeout=10) is True
        assert c.session_alive() and c.reconnects == 1
        assert c.ensure_session() is False


# ---- host lookup ----------------------------------------------------------------------------------

def test_find_hosts_vcenter(vc_sim):
    with connect(vc_sim) as c:
        all_hosts = c.find_hosts()
        assert [h.name for h in all_hosts] == ["esxi-01.sim.local", "esxi-02.sim.local", "esxi-03.sim.local",
                                               "esxi-10.sim.local"]
        assert [h.name for h in c.find_hosts(cluster="C1")] == ["esxi-01.sim.local", "esxi-02.sim.local",
                                                                 "esxi-03.sim.local"]
        assert len(c.find_hosts(datacenter="DC1")) == 4
        picked = c.find_hosts(names=["esxi-10.sim.local", "esxi-02.sim.local", "esxi-02.sim.local"])
        assert [h.name for h in picked] == ["esxi-02.sim.local", "esxi-10.sim.local"]
        by_moid = c.find_hosts(names=[picked[0].moid])
        assert by_moid == [picked[0]]
        with pytest.raises(NotFoundError) as ei:
            c.find_hosts(names=["esxi-01.sim.local", "nope-1", "nope-2"])
        assert ei.value.details["missing"] == ["nope-1", "nope-2"] and "nope-1, nope-2" in str(ei.value)
        with pytest.raises(NotFoundError, match="host.s. not found in cluster C1: esxi-10.sim.local"):
            c.find_hosts(names=["esxi-10.sim.local"], cluster="C1")
        with pytest.raises(NotFoundError, match="cluster C9 not found .clusters: C1."):
            c.find_hosts(cluster="C9")
        with pytest.raises(NotFoundError, match="datacenter DC9 not found .datacenters: DC1."):
            c.find_hosts(datacenter="DC9")
        with pytest.raises(NotFoundError):
            c.host("nope")
        assert c.host(picked[0]) is picked[0]


def test_find_hosts_esxi_direct(esx_sim):
    with connect(esx_sim) as c:
        hosts = c.find_hosts()
        assert len(hosts) == 1 and hosts[0].name == HOST and hosts[0].moid == "ha-host"
        # filters do not apply on ESXi directly: there is exactly one host
        assert c.find_hosts(names=["whatever"]) == hosts and c.host("x") == hosts[0]
        assert hosts[0].label == c.endpoint


def test_one_session_for_all_hosts_and_facts(vc_sim):
    with connect(vc_sim) as c:
        facts = [c.host_facts(h) for h in c.find_hosts()]
        assert c.generation == 1 and c.reconnects == 0      # one login served every host
        json.dumps(facts)
        by = {f["name"]: f for f in facts}
        f = by["esxi-01.sim.local"]
        assert set(f) == FACT_KEYS
        assert f["cluster"] == "C1" and f["datacenter"] == "DC1" and f["vcenter_managed"] is True
        assert by["esxi-10.sim.local"]["cluster"] is None
        truth = vc_sim.state("esxi-01.sim.local")
        assert f["version"] == truth["version"] and f["build"] == truth["build"]
        assert f["connection_state"] == "connected" and f["power_state"] == "poweredOn"
        assert f["product_line"] == "embeddedEsx" and f["full_name"].startswith("VMware ESXi ")
        assert f["boot_time"].startswith(truth["boot_time"][:19])


def test_facts_esxi_direct(esx_sim):
    with connect(esx_sim) as c:
        f = c.host_facts(c.find_hosts()[0])
        assert set(f) == FACT_KEYS and f["vcenter_managed"] is False and f["datacenter"] == "ha-datacenter"
        assert f["build"] == esx_sim.state(HOST)["build"] and isinstance(f["in_maintenance_mode"], bool)
        assert Host(c, f["name"], f["moid"]).to_dict() == {"name": HOST, "moid": "ha-host"}
