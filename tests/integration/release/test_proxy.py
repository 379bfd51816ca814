# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""proxy_host/proxy_port (VMWARE_PROXY_HOST/VMWARE_PROXY_PORT) as vmware.vmware has them: the SOAP client (the
version probe and pyVmomi's SoapStubAdapter) and the vAPI REST client go through an HTTP CONNECT proxy, and a
module takes the proxy from the environment. The proxy here is a real one on 127.0.0.1 that records each tunnel."""

from __future__ import annotations

import json
import os
import select
import socket
import socketserver
import subprocess
import threading

import pytest

from tests.tooling import needs_tool, tool_path

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient  # noqa: E402
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import ConnectionFailedError  # noqa: E402

ANSIBLE = tool_path("ansible")
pytestmark = [pytest.mark.simulator]


class _Tunnel(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target = line.split(" ")[:2]
        self.server.requests.append(line)
        if method != "CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        socks = [self.request, upstream]
        try:
            while True:
                ready, _, _ = select.select(socks, [], [], 30)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is self.request else self.request).sendall(data)
        finally:
            upstream.close()


class ConnectProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.requests = []
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def sim(sim_factory):
    return sim_factory("vc")


@pytest.fixture
def proxy():
    p = ConnectProxy()
    yield p
    p.shutdown()
    p.server_close()


def test_soap_client_tunnels_through_the_proxy(sim, proxy):
    with VSphereClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file, timeout=10,
                       proxy_host="127.0.0.1", proxy_port=proxy.port) as c:
        assert c.session_alive() and c.is_vcenter
    tunnels = [r for r in proxy.requests if r.startswith("CONNECT 127.0.0.1:%d " % sim.port)]
    assert len(tunnels) >= 2, proxy.requests     # the version probe, then pyVmomi's SOAP connection(s)


def test_without_proxy_options_the_proxy_is_not_used(sim, proxy, monkeypatch):
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:%d" % proxy.port)   # never read for vCenter/ESXi
    with VSphereClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file, timeout=10) as c:
        assert c.session_alive()
    assert proxy.requests == []


def test_a_dead_proxy_fails_the_connection_clearly(sim):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectionFailedError):
        VSphereClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file, timeout=5,
                      proxy_host="127.0.0.1", proxy_port=dead)


@needs_tool("ansible")
def test_module_takes_the_proxy_from_vmware_proxy_env(sim, proxy, tmp_path):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "h"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "t"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "r"),
               VMWARE_HOST=sim.host, VMWARE_PORT=str(sim.port), VMWARE_USER=sim.user, VMWARE_PASSWORD=sim.password,
               VMWARE_CA_PATH=sim.ca_file, VMWARE_PROXY_HOST="127.0.0.1", VMWARE_PROXY_PORT=str(proxy.port))
    args = json.dumps({"state": "absent", "category": "fleetpatch-proxy-test", "esxi_hostname": ["esxi-01.sim.local"]})
    proc = subprocess.run([ANSIBLE, "localhost", "-m", "fleetpatch.esxi.esxi_host_tag", "-a", args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert sim.password not in out
    targets = {r.split(" ")[1] for r in proxy.requests}
    assert targets == {"127.0.0.1:%d" % sim.port}, proxy.requests
    assert len(proxy.requests) >= 3, proxy.requests     # SOAP probe + SOAP session + vAPI REST session
