"""pytest fixtures for the ESXi/vCenter simulator and a local HTTP depot server.

The root ``tests/conftest.py`` loads this module as a plugin (``pytest_plugins``): every test directory has these
fixtures; do not import them into a conftest.

Fixtures:
  sim_factory  module scope: ``sim_factory(mode="esx"|"vc", topology=None, **options)`` starts a simulator
               (options as ``harness.Simulator``: reboot_down, task_delay, listen_host ...) and stops every
               one it started when the test module ends. THE way to get a simulator with a custom set-up.
  esx_sim      module scope: standalone ESXi (host "esxi-01.sim.local", image esxi-8.0u2.json)
  vc_sim       module scope: vCenter, DC1/C1 (DRS) with esxi-01..03 + standalone esxi-10
  depot_server function scope view of a module-scoped HTTP server on 127.0.0.1 serving a temp folder:
               url, url_for(), add_bundle(zip) -> index.xml URL, add_file(path) -> URL,
               make_depot(name, bundles, profiles), make_esxi_update_depot() (SYNTHETIC 8.0U3 base update),
               set_mode("ok"|"503"|"close"|"slow"), down()/up(), requests (paths served)
  fixture_path function: real_fixture(*parts) -> path of a file under tests/fixtures/real
"""

import http.server
import io
import os
import shutil
import socketserver
import tempfile
import threading
import time
import zipfile

import pytest

from tests.simulator.harness import REPO_ROOT, Simulator

REAL_FIXTURES = os.path.join(REPO_ROOT, "tests", "fixtures", "real")


def real_fixture(*parts):
    """Path of a file under tests/fixtures/real (e.g. real_fixture("itiligent__ESXi-Custom-ISO", "8-updates", "x.zip"))."""
    return os.path.join(REAL_FIXTURES, *parts)


# ---------------------------------------------------------------------------------------- depot server

class _Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def translate_path(self, path):
        root = self.server.depot.root
        rel = path.split("?", 1)[0].split("#", 1)[0]
        rel = os.path.normpath(rel.lstrip("/"))
        if rel.startswith(".."):
            return os.path.join(root, "__forbidden__")
        return os.path.join(root, rel)

    def _maybe_fail(self):
        depot = self.server.depot
        depot.requests.append(self.path)
        mode = depot.mode
        if mode == "503":
            body = b"Service Unavailable"
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True
        if mode == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return True
        if mode == "slow":
            time.sleep(depot.slow_seconds)
        return False

    def do_GET(self):
        if self._maybe_fail():
            return
        super().do_GET()

    def do_HEAD(self):
        if self._maybe_fail():
            return
        super().do_HEAD()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _write_depot_files(dst, vendor_index, meta_members, vendor_name, vendor_code):
    """Write a served depot's metadata.zip (vendor-index.xml + meta_members), vendor-index.xml and index.xml."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as mz:
        mz.writestr("vendor-index.xml", vendor_index)
        for n, d in sorted(meta_members.items()):
            mz.writestr(n, d)
    with open(os.path.join(dst, "metadata.zip"), "wb") as f:
        f.write(buf.getvalue())
    with open(os.path.join(dst, "vendor-index.xml"), "w") as f:
        f.write(vendor_index)
    with open(os.path.join(dst, "index.xml"), "w") as f:
        f.write("<vendorList><vendor><name>%s</name><code>%s</code><indexfile>vendor-index.xml</indexfile>"
                "<patchUrl></patchUrl><relativePath></relativePath><content><name>VMware ESX</name>"
                "<type>http://www.vmware.com/depotmanagement/esx</type></content></vendor></vendorList>"
                % (vendor_name, vendor_code))


class DepotServer(object):
    """HTTP server on a free 127.0.0.1 port serving ``root``.

    mode: "ok" (serve files), "503" (every request answers 503), "close" (connections are closed
    without a response), "slow" (each request waits slow_seconds). ``requests`` lists requested paths.
    """

    def __init__(self, root=None):
        self._own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="esxisim-depot-")
        self.mode = "ok"
        self.slow_seconds = 5.0
        self.requests = []
        self._httpd = None
        self._thread = None
        self.port = None
        self.url = None

    def start(self):
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.depot = self
        self.port = self._httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def set_mode(self, mode, slow_seconds=None):
        assert mode in ("ok", "503", "close", "slow"), mode
        self.mode = mode
        if slow_seconds is not None:
            self.slow_seconds = slow_seconds

    def down(self, how="503"):
        """Make the depot unreachable ("503" or "close")."""
        self.set_mode(how)

    def up(self):
        self.set_mode("ok")

    def url_for(self, rel):
        return "%s/%s" % (self.url, rel.lstrip("/"))

    # ---- content
    def add_file(self, src, name=None):
        """Copy a file (e.g. a .vib or an offline bundle .zip) into the served folder; returns its URL."""
        name = name or os.path.basename(src)
        dst = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        return self.url_for(name)

    def add_bundle(self, bundle_zip, name=None):
        """Extract an offline bundle / component zip (index.xml, vendor-index.xml, metadata.zip, vib20/...)
        into <root>/<name>/ and return the URL of its index.xml. A zip that only wraps the real bundle zip
        (the ESXi 6.5 USB NIC fling) is unwrapped."""
        name = name or os.path.splitext(os.path.basename(bundle_zip))[0]
        dst = os.path.join(self.root, name)
        data = open(bundle_zip, "rb").read()
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
        if "index.xml" not in names:
            inner = [n for n in names if n.endswith(".zip")]
            if len(inner) == 1:
                zf = zipfile.ZipFile(io.BytesIO(zf.read(inner[0])))
        for member in zf.infolist():
            if member.is_dir():
                continue
            target = os.path.normpath(os.path.join(dst, member.filename))
            if not target.startswith(dst):
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(zf.read(member))
        return self.url_for(name + "/index.xml")

    def make_depot(self, name, bundles, profiles=None, product="embeddedEsx", version=None):
        """Merge several real bundles into one depot folder with a single metadata.zip.

        profiles: optional list of dicts {name, vendor, acceptance, vibs: [vib ids], description}
        written as profiles/<name>.xml in the metadata.zip (SYNTHETIC profile records; bulletins, VIB
        records and .vib files are the real ones). Returns the URL of index.xml.
        """
        dst = os.path.join(self.root, name)
        os.makedirs(dst, exist_ok=True)
        meta_members = {}
        platforms = []
        for b in bundles:
            zf = zipfile.ZipFile(b)
            names = zf.namelist()
            if "index.xml" not in names:
                inner = [n for n in names if n.endswith(".zip")]
                zf = zipfile.ZipFile(io.BytesIO(zf.read(inner[0])))
                names = zf.namelist()
            vi = zf.read("vendor-index.xml").decode()
            import re
            meta_name = re.search(r"<url>([^<]+)</url>", vi).group(1)
            for m in re.finditer(r"<version>([^<]*)</version>", vi):
                if m.group(1) not in platforms:
                    platforms.append(m.group(1))
            mz = zipfile.ZipFile(io.BytesIO(zf.read(meta_name)))
            for n in mz.namelist():
                if n.startswith(("bulletins/", "vibs/", "profiles/")):
                    meta_members[n] = mz.read(n)
            for n in names:
                if n.endswith(".vib"):
                    target = os.path.join(dst, n)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as f:
                        f.write(zf.read(n))
        for p in profiles or []:
            vibs = "".join("<vib><vib-id>%s</vib-id></vib>" % v for v in p["vibs"])
            xml = ("<imageprofile><name>{n}</name><creator>{c}</creator><profileID>sim-{n}</profileID>"
                   "<creationtime>2024-01-01T00:00:00</creationtime><modifiedtime>2024-01-01T00:00:00</modifiedtime>"
                   "<description>{d}</description><readonly>true</readonly><viblist>{v}</viblist>"
                   "<acceptancelevel>{a}</acceptancelevel></imageprofile>").format(
                n=p["name"], c=p.get("vendor", "VMware, Inc."), d=p.get("description", "synthetic test profile"),
                v=vibs, a=p.get("acceptance", "partner"))
            meta_members["profiles/%s.xml" % p["name"]] = xml.encode()
        versions = [version] if version else platforms
        vendor_index = "<metaList>" + "".join(
            "<metadata><productId>%s</productId><version>%s</version><locale></locale><url>metadata.zip</url>"
            "<channelName>default</channelName></metadata>" % (product, v) for v in versions) + "</metaList>"
        _write_depot_files(dst, vendor_index, meta_members, "Test", "TST")
        return self.url_for(name + "/index.xml")


    def make_esxi_update_depot(self, name="esxi-8.0u3-synthetic", version="8.0.3", build="24022510",
                               release="0.0", vmkapi=13, profile=None, esx_ui="2.14.0-23780658",
                               platform="8.0", acceptance="certified"):
        """SYNTHETIC ESXi update depot (no real VMware base-image depot is in the fixtures): one bulletin
        "ESXi_<version>-<release>.<build>" with esx-base (provides esx-version, vmkapi_2_0..N, incompat N),
        vsan and esx-ui, real .vib containers (ar archives holding descriptor.xml, sha-256 in the metadata),
        and an image profile (default "ESXi-<x.y>U<n>-<build>-standard"). Returns the index.xml URL."""
        import hashlib
        full = "%s-%s.%s" % (version, release, build)
        major = ".".join(version.split(".")[:2])
        upd = version.split(".")[2] if version.count(".") >= 2 else "0"
        profile = profile or "ESXi-%sU%s-%s-standard" % (major, upd, build)
        plat = '<softwarePlatform version="%s" locale="" productLineID="embeddedEsx"/>' % platform
        vmk = "".join('<provide name="vmkapi_2_%d_0_0"/>' % i for i in range(vmkapi, -1, -1))
        patch_next = "%s-%s" % (version, ".".join(release.split(".")[:-1] + [str(int(release.split(".")[-1]) + 1)]))

        def descriptor(vname, vver, summary, depends="", provides="", mm=True, live=False):
            return ('<vib version="5.0"><type>bootbank</type><name>{n}</name><version>{v}</version><vendor>VMware</vendor>'
                    '<summary>{s}</summary><description>SYNTHETIC test VIB</description>'
                    '<release-date>2024-06-25T00:00:00+00:00</release-date><urls/><relationships><depends>{d}</depends>'
                    '<conflicts/><replaces/><provides>{p}</provides><compatibleWith/></relationships><software-tags/>'
                    '{{extra}}<system-requires><maintenance-mode>{mm}</maintenance-mode>{plat}</system-requires>'
                    '<acceptance-level>{acc}</acceptance-level><live-install-allowed>{live}</live-install-allowed>'
                    '<live-remove-allowed>{live}</live-remove-allowed><cimom-restart>false</cimom-restart>'
                    '<stateless-ready>true</stateless-ready><overlay>false</overlay><payloads>'
                    '<payload name="{n8}" type="vgz" size="0"></payload></payloads></vib>').format(
                n=vname, v=vver, s=summary, d=depends, p=provides, mm=str(mm).lower(), plat=plat,
                acc=acceptance, live=str(live).lower(), n8=vname[:8])

        vibs = [
            ("esx-base", full, "ESXi base system",
             '<constraint name="vsan" relation="&gt;=" version="%s-0.0"/><constraint name="vsan" relation="&lt;&lt;" version="%s"/>' % (version, patch_next),
             '<provide name="esx-version" version="%s"/><provide name="esximage" version="1.0"/>%s<provide name="vmkapi_incompat_2_%d_0_0"/>' % (full, vmk, vmkapi),
             True, False),
            ("vsan", full, "ESXi VSAN", "", "", True, False),
            ("esx-ui", esx_ui, "VMware Host Client", '<constraint name="esx-version" relation="&gt;=" version="5.0.0"/>', "", False, True),
        ]
        dst = os.path.join(self.root, name)
        vib_ids = []
        meta = {}
        for vname, vver, summary, dep, prov, mm, live in vibs:
            vid = "VMware_bootbank_%s_%s" % (vname, vver)
            vib_ids.append(vid)
            desc = descriptor(vname, vver, summary, dep, prov, mm, live)
            ar = _ar_archive([("descriptor.xml", desc.replace("{extra}", "").encode()), ("sig.pkcs7", b"")])
            rel = "vib20/%s/%s.vib" % (vname, vid)
            os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(dst, rel), "wb") as f:
                f.write(ar)
            extra = '<relative-path>%s</relative-path><packed-size>%d</packed-size><checksum checksum-type="sha-256">%s</checksum>' % (
                rel, len(ar), hashlib.sha256(ar).hexdigest())
            meta["vibs/%s-synthetic.xml" % vname] = desc.replace("{extra}", extra).encode()
        bid = "ESXi_%s" % full
        meta["bulletins/%s.xml" % bid] = (
            '<bulletin><id>{b}</id><vendor>VMware, Inc.</vendor><summary>SYNTHETIC ESXi {v} update</summary>'
            '<severity>critical</severity><category>bugfix</category><urgency>critical</urgency><releaseType>patch</releaseType>'
            '<description>SYNTHETIC</description><kbUrl>https://kb.vmware.com</kbUrl><contact>test</contact>'
            '<componentNameSpec name="ESXi" uiString="ESXi"/><componentVersionSpec uiString="{v}" version="{f}"/>'
            '<releaseDate>2024-06-25T00:00:00+00:00</releaseDate><platforms>{p}</platforms><vibList>{l}</vibList></bulletin>'
        ).format(b=bid, v=version, f=full, p=plat, l="".join("<vibID>%s</vibID>" % i for i in vib_ids)).encode()
        vibs_xml = "".join("<vib><vib-id>%s</vib-id></vib>" % i for i in vib_ids)
        meta["profiles/%s.xml" % profile] = (
            "<imageprofile><name>{n}</name><creator>VMware, Inc.</creator><profileID>synthetic</profileID>"
            "<creationtime>2024-06-25T00:00:00</creationtime><modifiedtime>2024-06-25T00:00:00</modifiedtime>"
            "<description>SYNTHETIC</description><readonly>true</readonly><viblist>{v}</viblist>"
            "<acceptancelevel>partner</acceptancelevel></imageprofile>").format(n=profile, v=vibs_xml).encode()
        vendor_index = ("<metaList><metadata><productId>embeddedEsx</productId><version>%s</version><locale></locale>"
                        "<url>metadata.zip</url><channelName>default</channelName></metadata></metaList>" % platform)
        _write_depot_files(dst, vendor_index, meta, "VMware", "VMW")
        self.last_update = {"bulletin": bid, "profile": profile, "vibs": vib_ids, "version": version, "build": build}
        return self.url_for(name + "/index.xml")


def _ar_archive(members):
    """A Unix ar archive (the .vib container format)."""
    out = io.BytesIO()
    out.write(b"!<arch>\n")
    for name, data in members:
        hdr = "%-16s%-12d%-6d%-6d%-8o%-10d`\n" % (name + "/", 0, 0, 0, 0o644, len(data))
        out.write(hdr.encode())
        out.write(data)
        if len(data) % 2:
            out.write(b"\n")
    return out.getvalue()


@pytest.fixture(scope="module")
def _depot_server_module():
    srv = DepotServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def depot_server(_depot_server_module):
    """A local HTTP depot server (module-scoped process, mode reset to "ok" around each test)."""
    _depot_server_module.set_mode("ok")
    yield _depot_server_module
    _depot_server_module.set_mode("ok")


# ---------------------------------------------------------------------------------------- simulators

class SimFactory:
    """Starts simulators for one test module and stops them all at its end (see ``sim_factory``)."""

    def __init__(self):
        self.started = []

    def __call__(self, mode="esx", topology=None, **options):
        sim = Simulator(mode=mode, topology=topology, **options).start()
        self.started.append(sim)
        return sim

    def stop_all(self):
        while self.started:
            self.started.pop().stop()


@pytest.fixture(scope="module")
def sim_factory():
    """``sim_factory(mode, topology=None, **options)`` -> a started ``Simulator``; all stopped after the module."""
    factory = SimFactory()
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="module")
def esx_sim(sim_factory):
    """Standalone ESXi simulator (module scope): host esxi-01.sim.local, image esxi-8.0u2.json."""
    return sim_factory("esx", reboot_down=1.0)


@pytest.fixture(scope="module")
def vc_sim(sim_factory):
    """vCenter simulator (module scope): DC1 / cluster C1 (DRS) with esxi-01..03, standalone esxi-10."""
    return sim_factory("vc", reboot_down=1.0)


@pytest.fixture
def fixture_path():
    return real_fixture
