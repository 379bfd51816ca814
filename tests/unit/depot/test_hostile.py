# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile and broken inputs: each one is refused with a DepotError subclass whose message names the source and
the problem, quickly and without reading files or touching the network."""

from __future__ import annotations

import io
import os
import resource
import socket
import threading
import time
import zipfile

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import parse as P
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common import safexml as _xml
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import (
    SafeZip, load_depot, parse_metadata_zip,
)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    DepotError, DepotFormatError, DepotSecurityError,
)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vib_archive import VibArchive

from depot_oracle import REAL, zip_tree

GHETTO = os.path.join(REAL, "lamw__ghettoVCB", "2020-12-29_37290df1", "vghetto-ghettoVCB-offline-bundle.zip")
GHETTO_VIB = os.path.join(REAL, "lamw__ghettoVCB", "2020-12-29_37290df1", "vghetto-ghettoVCB.vib")
SECRET_MARKER = "fleetpatch-secret-marker-7d1f"

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE vib [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<vib version="5.0"><type>bootbank</type><name>&lol9;</name><version>1</version><vendor>x</vendor>
<acceptance-level>community</acceptance-level></vib>"""


def _meta_dir(tmp_path, name, data):
    d = tmp_path / "meta"
    (d / "vibs").mkdir(parents=True, exist_ok=True)
    (d / "vibs" / name).write_bytes(data)
    return d


def _assert_error(excinfo, cls, source, *words):
    e = excinfo.value
    assert type(e) is cls, "%s: %s" % (type(e).__name__, e)
    msg = str(e)
    assert source in msg, msg
    for w in words:
        assert w.lower() in msg.lower(), msg
    assert SECRET_MARKER not in msg


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything opens a socket connection."""
    calls = []

    def refuse(self, *a, **k):
        calls.append(a)
        raise AssertionError("network access attempted: %r" % (a,))
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return calls


# ---- XML ------------------------------------------------------------------------------------------------
def test_billion_laughs_in_a_metadata_folder(tmp_path):
    d = _meta_dir(tmp_path, "laughs.xml", LAUGHS)
    t = time.process_time()
    with pytest.raises(DepotError) as ei:
        load_depot([str(d)])
    assert time.process_time() - t < 5
    _assert_error(ei, DepotSecurityError, str(d / "vibs" / "laughs.xml"), "DOCTYPE", "refused")


def test_billion_laughs_parser_never_expands_even_without_the_precheck():
    """Defence in depth: the lxml parser itself keeps entities unexpanded (resolve_entities=False)."""
    try:
        root = _xml._etree.fromstring(LAUGHS, _xml._parser())
    except _xml._etree.XMLSyntaxError as e:       # libxml2 >= 2.11 also stops the amplification itself
        assert "amplification" in str(e) or "entity" in str(e).lower()
    else:
        assert len(root.findtext("name") or "") < 100


@pytest.mark.parametrize("doc", [
    b'<!DOCTYPE vib [<!ENTITY x SYSTEM "file://%(path)s">]><vib><name>&x;</name></vib>',
    b'<!DOCTYPE vib SYSTEM "file://%(path)s"><vib><name>a</name></vib>',
    b'<!DOCTYPE vib PUBLIC "-//X//Y" "http://127.0.0.1:%(port)d/evil.dtd"><vib><name>a</name></vib>',
    b'<!DOCTYPE vib [<!ENTITY %% p SYSTEM "http://127.0.0.1:%(port)d/p.dtd"> %%p;]><vib/>',
], ids=["external-entity-file", "external-dtd-file", "external-dtd-http", "parameter-entity-http"])
def test_external_entities_and_dtds_are_refused_without_io(tmp_path, doc):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET_MARKER)
    hits = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.2)
    port = srv.getsockname()[1]

    def accept():
        try:
            conn, _ = srv.accept()
            hits.append(conn.recv(1024))
            conn.close()
        except OSError:
            pass
    th = threading.Thread(target=accept)
    th.start()
    data = doc % {b"path": str(secret).encode(), b"port": port} if False else \
        doc.replace(b"%(path)s", str(secret).encode()).replace(b"%(port)d", str(port).encode()).replace(b"%%", b"%")
    d = _meta_dir(tmp_path, "x.xml", data)
    with pytest.raises(DepotError) as ei:
        load_depot([str(d)])
    _assert_error(ei, DepotSecurityError, "x.xml", "DOCTYPE")
    # and the bare parser (as configured) neither reads the file nor connects, even if the pre-check were gone
    try:
        root = _xml._etree.fromstring(data, _xml._parser())
        text = _xml._etree.tostring(root).decode()
    except _xml._etree.XMLSyntaxError:
        text = ""
    assert SECRET_MARKER not in text
    th.join()
    srv.close()
    assert hits == []


def test_doctype_in_utf16_is_refused():
    data = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE vib [<!ENTITY a "b">]><vib/>'.encode("utf-16")
    with pytest.raises(DepotSecurityError) as ei:
        _xml.parse_xml(data, "utf16.xml")
    assert "utf16.xml" in str(ei.value)


@pytest.mark.parametrize("data,line", [
    (b"<vib>\n<name>x</name>\n<version>1</vib>", 3),
    (b"<vib><name>x</name>", 1),
    (b"<vib><name>&undefined;</name></vib>", 1),
    (b"\x00\x01garbage", None),
])
def test_malformed_xml_names_source_and_line(tmp_path, data, line):
    d = _meta_dir(tmp_path, "broken.xml", data)
    with pytest.raises(DepotError) as ei:
        load_depot([str(d)])
    _assert_error(ei, DepotFormatError, str(d / "vibs" / "broken.xml"))
    if line:
        assert "line %d" % line in str(ei.value)
        assert ei.value.details.get("line") == line


def test_html_where_xml_expected(tmp_path):
    (tmp_path / "index.xml").write_bytes(b"<!DOCTYPE html>\n<html><body>Sign in</body></html>")
    with pytest.raises(DepotError) as ei:
        load_depot([str(tmp_path)])
    _assert_error(ei, DepotFormatError, str(tmp_path / "index.xml"), "HTML")


@pytest.mark.parametrize("xml,words", [
    (b'<vib><type>bootbank</type><version>1</version><vendor>v</vendor>'
     b'<acceptance-level>community</acceptance-level></vib>', ["no <name>"]),
    (b'<vib><type>bootbank</type><name>n</name><version>1</version><vendor>v</vendor>'
     b'<acceptance-level>superb</acceptance-level></vib>', ["acceptance level", "superb"]),
    (b'<vib><type>bootbank</type><name>n</name><version>1</version><vendor>v</vendor>'
     b'<acceptance-level>community</acceptance-level><overlay>maybe</overlay></vib>', ["overlay", "boolean"]),
    (b'<vib><type>bootbank</type><name>n</name><version>1</version><vendor>v</vendor>'
     b'<acceptance-level>community</acceptance-level><relationships><depends>'
     b'<constraint name="a" relation="~=" version="1"/></depends></relationships></vib>', ["relation", "~="]),
    (b'<vib><type>bootbank</type><name>n</name><version>1</version><vendor>v</vendor>'
     b'<acceptance-level>community</acceptance-level><payloads><payload name="p" type="tgz" size="-3"/>'
     b'</payloads></vib>', ["size", "-3"]),
    (b'<bulletin><id>b</id><componentNameSpec name="c"/></bulletin>', ["component"]),
    (b'<imageprofile><name>p</name><viblist><vib/></viblist></imageprofile>', ["vib-id"]),
    (b'<notavib/>', ["unexpected root", "<notavib>"]),
])
def test_semantically_broken_records(tmp_path, xml, words):
    kind = "bulletins" if xml.startswith(b"<bulletin") else "profiles" if xml.startswith(b"<imageprofile") else "vibs"
    d = tmp_path / "meta" / kind
    d.mkdir(parents=True)
    (d / "r.xml").write_bytes(xml)
    with pytest.raises(DepotError) as ei:
        load_depot([str(tmp_path / "meta")])
    _assert_error(ei, DepotFormatError, str(d / "r.xml"), *words)


def test_oversize_xml_document():
    with pytest.raises(DepotSecurityError) as ei:
        _xml.parse_xml(b"<a>" + b"x" * 2000 + b"</a>", "big.xml", max_bytes=1000)
    assert "big.xml" in str(ei.value) and "exceeds" in str(ei.value)


def test_file_list_fast_path_refuses_anything_but_plain_markup():
    base = open(os.path.join(REAL, "ljvblfz__ESXi/var/db/esximg/vibs/esx-base-591008816.xml"), "rb").read()
    assert P.split_file_list(base) is not None
    for bad in (base.replace(b"<file>bin/", b"<file><!-- c -->bin/", 1),
                base.replace(b"<file>bin/", b"<file><x/>bin/", 1),
                base.replace(b"<file>bin/", b"<file>\x01bin/", 1),
                base.replace(b"<file>bin/", b"<file>&bogus;bin/", 1),
                base.replace(b"</file-list>", b"</file-list><file-list/>", 1)):
        assert P.split_file_list(bad) is None
    # a file-list moved inside another element is caught by the placeholder check
    moved = base.replace(b"<file-list>", b"<urls><file-list>", 1).replace(b"</file-list>", b"</file-list></urls>", 1)
    moved = moved.replace(b"<urls/>", b"", 1)
    with pytest.raises(DepotFormatError) as ei:
        P.parse_vib_bytes(moved, "moved.xml")
    assert "moved.xml" in str(ei.value)
    ent = base.replace(b"<file>bin/", b"<file>a&amp;b&#x41;/bin/", 1)
    files = P.parse_vib_bytes(ent, "e.xml").files
    assert "a&bA/bin/BootModuleConfig.sh" in files or any(f.startswith("a&bA/bin/") for f in files)


# ---- zip -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory):
    """1 GiB of zeros, deflated (about 4.5 MB), as vibs/bomb.xml of a metadata.zip."""
    p = tmp_path_factory.mktemp("bomb") / "metadata.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("bulletins/ok.xml", b"<bulletin><id>ok</id></bulletin>")
        with z.open("vibs/bomb.xml", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(1024):
                f.write(chunk)
    return p


def test_zip_bomb_is_refused_before_inflating(zip_bomb):
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.process_time()
    with pytest.raises(DepotError) as ei:
        load_depot([str(zip_bomb)])
    assert time.process_time() - t < 2
    _assert_error(ei, DepotSecurityError, str(zip_bomb), "vibs/bomb.xml", "compression ratio", "zip bomb")
    assert ei.value.details["member"] == "vibs/bomb.xml"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 200 * 1024      # KiB: nothing inflated


def test_zip_bomb_inside_a_bundle(zip_bomb, tmp_path):
    b = tmp_path / "bundle.zip"
    with zipfile.ZipFile(b, "w") as z:
        tree = zip_tree(GHETTO)
        for n in ("index.xml", "vendor-index.xml"):
            z.writestr(n, tree[n])
        z.writestr("metadata.zip", zip_bomb.read_bytes())
    with pytest.raises(DepotError) as ei:
        load_depot([str(b)])
    _assert_error(ei, DepotSecurityError, str(b) + "#metadata.zip", "vibs/bomb.xml")


def test_lying_size_header_is_caught_while_reading(tmp_path):
    """A member whose header under-declares its size inflates no further than declared (zipfile) or errors."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("vibs/a.xml", b"<vib/>" + b" " * 100000)
    raw = bytearray(buf.getvalue())
    sz = SafeZip(io.BytesIO(bytes(raw)), "lying.zip")
    sz.infos["vibs/a.xml"].file_size = 10          # what a lying central directory would say
    with pytest.raises(DepotError) as ei:
        sz.read("vibs/a.xml", limit=1000)
    assert "lying.zip" in str(ei.value)


@pytest.mark.parametrize("member,reason", [
    ("../x", "path traversal"), ("vibs/../../x.xml", "path traversal"), ("/etc/passwd", "absolute path"),
    ("C:/Windows/x", "absolute path"), ("..\\..\\evil", "path traversal"),
])
def test_hostile_member_names(tmp_path, member, reason):
    p = tmp_path / "evil.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("index.xml", b"<vendorList/>")
        z.writestr(zipfile.ZipInfo(member), b"root::0:0::/root:/bin/sh")
    with pytest.raises(DepotError) as ei:
        load_depot([str(p)])
    _assert_error(ei, DepotSecurityError, str(p), repr(member), reason)
    assert ei.value.details["member"] == member


def test_duplicate_member_names(tmp_path):
    p = tmp_path / "dup.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("vibs/a.xml", b"<vib/>")
        with pytest.warns(UserWarning):
            z.writestr("vibs/a.xml", b"<vib/>")
    with pytest.raises(DepotError) as ei:
        load_depot([str(p)])
    _assert_error(ei, DepotSecurityError, str(p), "duplicate")


def test_too_many_members(tmp_path, monkeypatch):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import containers as _depot_containers
    monkeypatch.setattr(_depot_containers, "MAX_ZIP_MEMBERS", 5)
    p = tmp_path / "many.zip"
    with zipfile.ZipFile(p, "w") as z:
        for i in range(6):
            z.writestr("vibs/%d.xml" % i, b"<vib/>")
    with pytest.raises(DepotError) as ei:
        load_depot([str(p)])
    _assert_error(ei, DepotSecurityError, str(p), "6 members")


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.999])
def test_truncated_bundle_zip(tmp_path, cut):
    data = open(GHETTO, "rb").read()
    p = tmp_path / "truncated.zip"
    p.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(DepotError) as ei:
        load_depot([str(p)])
    _assert_error(ei, DepotFormatError, str(p), "zip")


def test_corrupt_member_data(tmp_path):
    data = bytearray(open(GHETTO, "rb").read())
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = z.getinfo("metadata.zip")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 100
    for i in range(start, start + 64):
        data[i] ^= 0xFF
    p = tmp_path / "corrupt.zip"
    p.write_bytes(bytes(data))
    with pytest.raises(DepotError) as ei:
        load_depot([str(p)])
    _assert_error(ei, DepotFormatError, str(p), "metadata.zip")


def test_zip_wrapping_a_zip_wrapping_a_zip(tmp_path):
    inner = open(GHETTO, "rb").read()
    mid = io.BytesIO()
    with zipfile.ZipFile(mid, "w") as z:
        z.writestr("bundle.zip", inner)
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as z:
        z.writestr("wrapper.zip", mid.getvalue())
    with pytest.raises(DepotError) as ei:
        load_depot([str(outer)])
    _assert_error(ei, DepotFormatError, str(outer) + "#wrapper.zip", "only one level")
    # one level is fine
    once = tmp_path / "once.zip"
    with zipfile.ZipFile(once, "w") as z:
        z.writestr("bundle.zip", inner)
    assert load_depot([str(once)]).counts()["vibs"] == 1


def test_not_a_depot(tmp_path):
    p = tmp_path / "random.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("README.txt", b"hello")
    with pytest.raises(DepotError) as ei:
        load_depot([str(p)])
    _assert_error(ei, DepotFormatError, str(p), "not a depot")
    q = tmp_path / "file.bin"
    q.write_bytes(b"\x7fELF....")
    with pytest.raises(DepotFormatError) as ei:
        load_depot([str(q)])
    assert str(q) in str(ei.value)
    with pytest.raises(DepotFormatError) as ei:
        load_depot([str(tmp_path / "missing.zip")])
    assert "no such file" in str(ei.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DepotFormatError) as ei:
        load_depot([str(empty)])
    assert "not a depot" in str(ei.value)


def test_index_path_traversal_in_unzipped_bundle(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "index.xml").write_bytes(
        b"<vendorList><vendor><name>x</name><code>X</code><indexfile>../../etc/passwd</indexfile>"
        b"<relativePath></relativePath></vendor></vendorList>")
    with pytest.raises(DepotError) as ei:
        load_depot([str(tmp_path / "b")])
    _assert_error(ei, DepotSecurityError, str(tmp_path / "b"), "path traversal")
    (tmp_path / "b" / "index.xml").write_bytes(
        b"<vendorList><vendor><name>x</name><indexfile>vendor-index.xml</indexfile></vendor></vendorList>")
    (tmp_path / "b" / "vendor-index.xml").write_bytes(
        b"<metaList><metadata><productId>embeddedEsx</productId><version>8.0</version>"
        b"<url>/etc/passwd</url></metadata></metaList>")
    with pytest.raises(DepotError) as ei:
        load_depot([str(tmp_path / "b")])
    _assert_error(ei, DepotSecurityError, str(tmp_path / "b"), "absolute path")


def test_symlink_out_of_a_metadata_folder(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_text("<vib>%s</vib>" % SECRET_MARKER)
    d = tmp_path / "meta" / "vibs"
    d.mkdir(parents=True)
    os.symlink(str(secret), str(d / "link.xml"))
    with pytest.raises(DepotError) as ei:
        load_depot([str(tmp_path / "meta")])
    _assert_error(ei, DepotSecurityError, "link.xml", "leaves the depot folder")


# ---- .vib ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cut,cls,words", [
    (4, DepotFormatError, ["bad ar magic"]),
    (30, DepotFormatError, ["truncated ar header"]),
    (100, DepotSecurityError, ["descriptor.xml", "declares"]),
    (-10, DepotSecurityError, ["payload1", "truncated"]),
])
def test_truncated_vib(tmp_path, cut, cls, words):
    data = open(GHETTO_VIB, "rb").read()
    p = tmp_path / "truncated.vib"
    p.write_bytes(data[:cut])
    with pytest.raises(DepotError) as ei:
        load_depot([str(p)])
    _assert_error(ei, cls, str(p), *words)


def _ar(members):
    out = b"!<arch>\n"
    for name, data in members:
        hdr = name.ljust(16)[:16].encode() + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6) + b"644".ljust(8) + \
            str(len(data)).encode().ljust(10) + b"`\n"
        out += hdr + data + (b"\n" if len(data) % 2 else b"")
    return out


@pytest.mark.parametrize("name,words", [
    ("../../etc/x", ["hostile member name"]), ("/etc/passwd", ["hostile member name"]),
    ("..", ["hostile member name"]), ("a\\b", ["hostile member name"]),
])
def test_vib_hostile_member_names(name, words):
    raw = _ar([("descriptor.xml", b"<vib/>"), (name, b"x")])
    with pytest.raises(DepotSecurityError) as ei:
        VibArchive(io.BytesIO(raw), source="evil.vib")
    assert "evil.vib" in str(ei.value) and all(w in str(ei.value) for w in words)


def test_vib_structural_errors():
    with pytest.raises(DepotSecurityError) as ei:
        VibArchive(io.BytesIO(_ar([("descriptor.xml", b"<vib/>"), ("descriptor.xml", b"<vib/>")])), source="d.vib")
    assert "duplicate" in str(ei.value)
    with pytest.raises(DepotFormatError) as ei:
        VibArchive(io.BytesIO(_ar([("payload", b"x")])), source="n.vib")
    assert "no descriptor.xml" in str(ei.value) and "n.vib" in str(ei.value)
    bad_size = bytearray(_ar([("descriptor.xml", b"<vib/>")]))
    bad_size[8 + 48:8 + 58] = b"12a4      "
    with pytest.raises(DepotFormatError) as ei:
        VibArchive(io.BytesIO(bytes(bad_size)), source="s.vib")
    assert "invalid size" in str(ei.value)
    huge = bytearray(_ar([("descriptor.xml", b"<vib/>")]))
    huge[8 + 48:8 + 58] = b"9999999999"
    with pytest.raises(DepotSecurityError) as ei:
        VibArchive(io.BytesIO(bytes(huge)), source="h.vib")
    assert "9999999999" in str(ei.value)
    va = VibArchive(io.BytesIO(_ar([("descriptor.xml", b"<vib/>"), ("big", b"y" * 100)])), source="ok.vib")
    with pytest.raises(DepotSecurityError) as ei:
        va.read("big", max_bytes=10)
    assert "ok.vib" in str(ei.value) and "big" in str(ei.value)
    with pytest.raises(DepotFormatError):
        va.read("missing")
    assert va.signature_bytes == b""


def test_corrupt_metadata_zip_bytes():
    with pytest.raises(DepotFormatError) as ei:
        parse_metadata_zip(b"PK\x03\x04 not really a zip", "remote/metadata.zip")
    assert "remote/metadata.zip" in str(ei.value)


def test_vib_open_raw_is_the_whole_file():
    import hashlib
    data = open(GHETTO_VIB, "rb").read()
    for va in (VibArchive(GHETTO_VIB), VibArchive(io.BytesIO(data), source="mem.vib")):
        with va.open_raw() as f:
            assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest()
        assert va.descriptor_bytes.startswith(b"<vib")      # still usable after the raw stream was closed


def test_file_list_fast_path_respects_declared_encoding():
    """The large-file-list fast path must not decode as UTF-8 a document that declares another encoding:
    the values must be what lxml gives (here latin-1 bytes c3 a9 are two characters)."""
    fl = "".join("<file>usr/lib/f%04d\xc3\xa9</file>" % i for i in range(600)).encode("latin-1")
    doc = (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<vib><type>bootbank</type><name>n</name><version>1</version>'
           b'<vendor>v</vendor><acceptance-level>community</acceptance-level><file-list>' + fl + b'</file-list></vib>')
    assert P.split_file_list(doc) is None
    assert P.parse_vib_bytes(doc, "x").files[0] == "usr/lib/f0000\xc3\xa9"
