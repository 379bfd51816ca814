# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real HTTP(S) servers on 127.0.0.1 for the depot tests (threads in the test process).

``DepotServer`` serves a folder with ETag/Last-Modified and conditional GET (304), counts requests per path,
and can be told to fail (status codes, slow answers, HTML pages) per path. ``ForwardingProxy`` is a tiny
HTTP proxy (absolute-URI GET) that counts what it forwards. ``self_signed()`` makes a throw-away certificate.
"""

from __future__ import annotations

import collections
import datetime
import email.utils
import hashlib
import http.client
import http.server
import os
import shutil
import socket
import ssl
import threading
import time
import zipfile
from urllib.parse import urlsplit

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REAL = os.path.join(ROOT, "tests", "fixtures", "real")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):     # keep test output clean
        pass

    def do_GET(self):
        srv = self.server.owner
        path = urlsplit(self.path).path
        with srv.lock:
            srv.requests.append((path, dict(self.headers)))
            srv.counts[path] += 1
            faults = srv.faults.get(path)
            fault = faults.pop(0) if faults else None
        if fault is not None:
            kind, value = fault
            if kind == "status":
                return self._send(value, b"error %d" % value, "text/plain")
            if kind == "sleep":
                time.sleep(value)
            if kind == "html":
                return self._send(200, b"<!DOCTYPE html><html><body>Please sign in</body></html>", "text/html")
            if kind == "body":
                return self._send(200, value, "application/octet-stream")
        local = os.path.join(srv.root, *[p for p in path.split("/") if p and p != ".."])
        if not os.path.isfile(local):
            return self._send(404, b"not found", "text/plain")
        with open(local, "rb") as f:
            body = f.read()
        etag = '"%s"' % hashlib.sha1(body).hexdigest()
        mtime = email.utils.formatdate(os.path.getmtime(local), usegmt=True)
        headers = {}
        if srv.send_etag:
            headers["ETag"] = etag
        if srv.send_last_modified:
            headers["Last-Modified"] = mtime
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if (srv.send_etag and inm == etag) or (srv.send_last_modified and not inm and ims == mtime):
            with srv.lock:
                srv.not_modified += 1
            return self._send(304, b"", None, headers)
        ctype = "application/zip" if local.endswith(".zip") else "text/xml" if local.endswith(".xml") else \
            "application/octet-stream"
        return self._send(200, body, ctype, headers)

    def _send(self, status, body, ctype, headers=None):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)) if status != 304 else "0")
        self.end_headers()
        if status != 304:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass        # failed TLS handshakes and clients that time out are expected in these tests


class DepotServer(object):
    def __init__(self, root, tls=None):
        self.root = root
        self.lock = threading.Lock()
        self.requests = []
        self.counts = collections.Counter()
        self.faults = {}
        self.not_modified = 0
        self.send_etag = True
        self.send_last_modified = True
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path=""):
        return "%s://127.0.0.1:%d/%s" % (self.scheme, self.port, path.lstrip("/"))

    def fail(self, path, *faults):
        with self.lock:
            self.faults.setdefault(path, []).extend(faults)

    def reset(self):
        with self.lock:
            self.requests[:] = []
            self.counts.clear()
            self.not_modified = 0

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        owner = self.server.owner
        with owner.lock:
            owner.forwarded.append(self.path)
        u = urlsplit(self.path)
        if not u.scheme:
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        conn.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        conn.close()


class ForwardingProxy(object):
    def __init__(self):
        self.lock = threading.Lock()
        self.forwarded = []
        self.httpd = _Server(("127.0.0.1", 0), _ProxyHandler)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def self_signed(tmpdir):
    """(cert_path, key_path) of a fresh self-signed certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cp, kp = os.path.join(tmpdir, "cert.pem"), os.path.join(tmpdir, "key.pem")
    with open(cp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kp, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cp, kp


# ---- an online-depot tree built from real bundles -------------------------------------------------------
FLING_80U3 = os.path.join(REAL, "itiligent__ESXi-Custom-ISO/8-updates/ESXi80U3-VMKUSB-NIC-FLING-75399077-component-24052746.zip")
FLING_703 = os.path.join(REAL, "itiligent__ESXi-Custom-ISO/7-updates/ESXi703-VMKUSB-NIC-FLING-55634242-component-19849370.zip")
SATA = os.path.join(REAL, "money114__ESXI-Customized-Drives/6.7u3/sata-xahci-1.42-1-offline_bundle.zip")


def build_online_depot(root, absolute_base):
    """An online-depot layout like hostupdate.vmware.com: ``index.xml`` -> ``esx/vmw/vendor-index.xml`` ->
    one RELATIVE metadata URL (8.0 fling, next to its vib20/) and one ABSOLUTE URL (7.0 fling under other/).
    Returns {name: (metadata path, vib id)}."""
    os.makedirs(os.path.join(root, "esx", "vmw"), exist_ok=True)
    os.makedirs(os.path.join(root, "other"), exist_ok=True)
    out = {}
    for key, bundle, sub in (("80", FLING_80U3, "esx/vmw"), ("70", FLING_703, "other")):
        with zipfile.ZipFile(bundle) as z:
            for n in z.namelist():
                if n == "metadata.zip":
                    target = os.path.join(root, sub, "vmw-ESXi-%s-metadata.zip" % key)
                elif n.startswith("vib20/"):
                    target = os.path.join(root, sub, n)
                else:
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(z.read(n))
                if n.startswith("vib20/"):
                    out[key] = (sub, os.path.basename(n)[:-4])
    with open(os.path.join(root, "index.xml"), "w") as f:
        f.write("<vendorList><vendor><name>VMware</name><code>VMW</code><indexfile>vendor-index.xml</indexfile>"
                "<patchUrl></patchUrl><relativePath>esx/vmw/</relativePath><content><name>VMware ESX</name>"
                "<type>http://www.vmware.com/depotmanagement/esx</type></content></vendor></vendorList>")
    with open(os.path.join(root, "esx", "vmw", "vendor-index.xml"), "w") as f:
        f.write("<metaList>"
                "<metadata><productId>embeddedEsx</productId><version>8.0</version><locale></locale>"
                "<url>vmw-ESXi-80-metadata.zip</url><channelName>default</channelName></metadata>"
                "<metadata><productId>embeddedEsx</productId><version>7.0</version><locale></locale>"
                "<patchUrl>http://example.invalid/patch</patchUrl>"
                "<url>%sother/vmw-ESXi-70-metadata.zip</url><channelName>default</channelName></metadata>"
                "</metaList>" % absolute_base)
    shutil.copy(SATA, os.path.join(root, "sata-bundle.zip"))
    return out
