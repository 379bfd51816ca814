# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP(S) depots against real servers on 127.0.0.1: the index chain, revalidation, retries, timeouts,
refused connections, TLS, proxy, HTML answers, redaction."""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import cache as _depot_cache
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot, open_vib
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotError, DepotFetchError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import HttpClient

from depot_http_helpers import (
    SATA, DepotServer, ForwardingProxy, build_online_depot, closed_port, self_signed,
)

pytestmark = [pytest.mark.network]
TOKEN = "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa98"


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    _depot_cache.clear_memory()
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy",
              "ALL_PROXY"):
        monkeypatch.delenv(k, raising=False)
    yield
    _depot_cache.clear_memory()


@pytest.fixture(scope="module")
def depot_tree(tmp_path_factory):
    return str(tmp_path_factory.mktemp("online"))


@pytest.fixture(scope="module")
def server(depot_tree):
    srv = DepotServer(depot_tree)
    srv.layout = build_online_depot(depot_tree, srv.url("/"))
    yield srv
    srv.close()


@pytest.fixture
def srv(server):
    server.reset()
    server.faults.clear()
    server.send_etag = server.send_last_modified = True
    return server


def _fast(**kw):
    kw.setdefault("timeout", 5)
    kw.setdefault("retries", 0)
    return kw


def test_index_chain_with_relative_and_absolute_urls(srv):
    d = load_depot([srv.url("index.xml")], **_fast())
    sub80, vib80 = srv.layout["80"]
    sub70, vib70 = srv.layout["70"]
    assert sorted(d.vibs) == sorted([vib80, vib70])
    assert [(m.version, m.url) for m in d.metadata] == [
        ("8.0", srv.url("esx/vmw/vmw-ESXi-80-metadata.zip")), ("7.0", srv.url("other/vmw-ESXi-70-metadata.zip"))]
    assert d.metadata[1].patch_url == "http://example.invalid/patch" and d.metadata[0].patch_url is None
    assert d.vib_files[vib80] == srv.url("esx/vmw/" + d.vibs[vib80].relative_path)
    assert d.vib_files[vib70] == srv.url("other/" + d.vibs[vib70].relative_path)
    va = open_vib(d.vib_files[vib80])
    assert ET.fromstring(va.descriptor_bytes).findtext("version") == d.vibs[vib80].version
    assert d.sources == [srv.url("index.xml")]
    assert srv.counts["/index.xml"] == 1 and srv.counts["/esx/vmw/vendor-index.xml"] == 1


def test_version_filter_downloads_only_what_fits(srv):
    d = load_depot([srv.url("index.xml")], product_line="embeddedEsx", version="8.0.3", **_fast())
    assert [m.version for m in d.metadata] == ["8.0"] and len(d.vibs) == 1
    assert srv.counts["/esx/vmw/vmw-ESXi-80-metadata.zip"] == 1
    assert srv.counts["/other/vmw-ESXi-70-metadata.zip"] == 0


def test_direct_vendor_index_metadata_zip_bundle_and_vib_urls(srv):
    d1 = load_depot([srv.url("esx/vmw/vendor-index.xml")], **_fast())
    d2 = load_depot([srv.url("esx/vmw/vmw-ESXi-80-metadata.zip")], **_fast())
    vib80 = srv.layout["80"][1]
    assert vib80 in d1.vibs and list(d2.vibs) == [vib80]
    assert d2.vib_files[vib80] == srv.url("esx/vmw/" + d2.vibs[vib80].relative_path)
    d3 = load_depot([srv.url("sata-bundle.zip")], **_fast())
    vid = "VFrontDe_bootbank_sata-xahci_1.42-1"
    assert list(d3.vibs) == [vid]
    assert d3.vib_files[vid] == srv.url("sata-bundle.zip") + "#sata-xahci-1.42-1.x86_64.vib"
    assert open_vib(d3.vib_files[vid], timeout=5).descriptor_bytes.startswith(b"<vib")
    d4 = load_depot([d1.vib_files[vib80]], **_fast())
    assert list(d4.vibs) == [vib80]


@pytest.mark.parametrize("etag,last_modified", [(True, True), (True, False), (False, True)])
def test_etag_last_modified_revalidation(srv, tmp_path, etag, last_modified):
    srv.send_etag, srv.send_last_modified = etag, last_modified
    cache = str(tmp_path / "cache")
    first = load_depot([srv.url("index.xml")], cache_dir=cache, **_fast())
    assert srv.not_modified == 0
    n_first = sum(srv.counts.values())
    _depot_cache.clear_memory()                # as a new module run would
    second = load_depot([srv.url("index.xml")], cache_dir=cache, **_fast())
    assert sum(srv.counts.values()) == 2 * n_first      # every file was revalidated ...
    assert srv.not_modified == n_first                  # ... and each answer was a 304
    conditional = srv.requests[n_first:]
    for _path, headers in conditional:
        assert ("If-None-Match" in headers) == etag
        assert ("If-Modified-Since" in headers) == (last_modified and True)
    assert second.digest == first.digest and sorted(second.vibs) == sorted(first.vibs)
    assert second.cache_stats["disk"] == 2 and second.cache_stats["miss"] == 0


def test_changed_file_is_downloaded_again(srv, tmp_path, depot_tree):
    cache = str(tmp_path / "cache")
    load_depot([srv.url("esx/vmw/vendor-index.xml")], cache_dir=cache, **_fast())
    path = os.path.join(depot_tree, "esx", "vmw", "vendor-index.xml")
    original = open(path, "rb").read()
    try:
        with open(path, "wb") as f:
            f.write(original.replace(b"<version>7.0</version>", b"<version>7.0.3</version>"))
        os.utime(path, (time.time() + 10, time.time() + 10))
        d = load_depot([srv.url("esx/vmw/vendor-index.xml")], cache_dir=cache, **_fast())
        assert [m.version for m in d.metadata] == ["8.0", "7.0.3"]
    finally:
        with open(path, "wb") as f:
            f.write(original)


def test_retries_after_503(srv):
    srv.fail("/index.xml", ("status", 503), ("status", 503))
    d = load_depot([srv.url("index.xml")], timeout=5, retries=2)
    assert len(d.vibs) == 2 and srv.counts["/index.xml"] == 3
    srv.reset()
    srv.fail("/index.xml", ("status", 503), ("status", 503))
    with pytest.raises(DepotFetchError) as ei:
        load_depot([srv.url("index.xml")], timeout=5, retries=1)
    assert "HTTP 503" in str(ei.value) and "after 2 attempts" in str(ei.value)
    assert srv.url("index.xml") in str(ei.value) and ei.value.details["status"] == 503


def test_client_errors_are_not_retried(srv):
    with pytest.raises(DepotFetchError) as ei:
        load_depot([srv.url("missing/index.xml")], timeout=5, retries=3)
    assert "HTTP 404" in str(ei.value) and srv.counts["/missing/index.xml"] == 1
    srv.fail("/index.xml", ("status", 403))
    with pytest.raises(DepotFetchError) as ei:
        load_depot([srv.url("index.xml")], **_fast())
    assert "403" in str(ei.value) and "token" in str(ei.value)


def test_timeout_on_a_slow_server_is_bounded(srv):
    srv.fail("/index.xml", ("sleep", 3))
    t = time.monotonic()
    with pytest.raises(DepotFetchError) as ei:
        load_depot([srv.url("index.xml")], timeout=0.5, retries=0)
    assert time.monotonic() - t < 2.5
    assert "timed out" in str(ei.value) and srv.url("index.xml") in str(ei.value)


def test_connection_refused():
    url = "http://127.0.0.1:%d/index.xml" % closed_port()
    t = time.monotonic()
    with pytest.raises(DepotFetchError) as ei:
        load_depot([url], timeout=2, retries=1)
    assert time.monotonic() - t < 5
    assert "connection refused" in str(ei.value) and url in str(ei.value)
    assert ei.value.kind == "depot_fetch"


def test_html_served_where_xml_or_zip_expected(srv):
    srv.fail("/index.xml", ("html", None))
    with pytest.raises(DepotFetchError) as ei:
        load_depot([srv.url("index.xml")], **_fast())
    assert "HTML" in str(ei.value) and srv.url("index.xml") in str(ei.value)
    srv.fail("/esx/vmw/vmw-ESXi-80-metadata.zip", ("html", None))
    with pytest.raises(DepotFetchError) as ei:
        load_depot([srv.url("esx/vmw/vendor-index.xml")], **_fast())
    assert "HTML" in str(ei.value) and "vmw-ESXi-80-metadata.zip" in str(ei.value)
    srv.fail("/esx/vmw/vmw-ESXi-80-metadata.zip", ("body", b"GIF89a not a zip"))
    with pytest.raises(DepotFetchError) as ei:
        load_depot([srv.url("esx/vmw/vendor-index.xml")], **_fast())
    assert "not a zip" in str(ei.value)


def test_oversize_body(srv):
    client = HttpClient(timeout=5, retries=0, max_bytes=1000)
    with pytest.raises(DepotFetchError) as ei:
        client.get_bytes(srv.url("esx/vmw/vmw-ESXi-80-metadata.zip"), expect="zip")
    assert "exceeds the limit of 1000 bytes" in str(ei.value)


def test_token_url_is_redacted_in_errors_and_results(srv, depot_tree):
    secret_dir = os.path.join(depot_tree, TOKEN, "PROD", "COMP", "ESX_HOST", "main")
    os.makedirs(secret_dir, exist_ok=True)
    with open(os.path.join(secret_dir, "vmw-depot-index.xml"), "wb") as f:
        f.write(open(os.path.join(depot_tree, "esx", "vmw", "vendor-index.xml"), "rb").read()
                .replace(b"<url>vmw-ESXi-80", b"<url>../../../../../esx/vmw/vmw-ESXi-80"))
    good = srv.url("%s/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml" % TOKEN)
    d = load_depot([good], **_fast())
    assert TOKEN not in " ".join(d.sources) and "********" in d.sources[0]
    assert TOKEN not in repr([v.source for v in d.vibs.values()]) + repr([b.source for b in d.bulletins.values()])
    for url in (good.replace("vmw-depot-index.xml", "missing.xml"),
                "http://user:%s@127.0.0.1:%d/%s/PROD/x.xml" % (TOKEN[:12], closed_port(), TOKEN)):
        with pytest.raises(DepotFetchError) as ei:
            load_depot([url], timeout=2, retries=0)
        text = str(ei.value) + repr(ei.value.to_result())
        assert TOKEN not in text and TOKEN[:12] not in text and "********" in text


def test_tls_self_signed(tmp_path, depot_tree):
    cert, key = self_signed(str(tmp_path))
    srv = DepotServer(depot_tree, tls=(cert, key))
    try:
        url = srv.url("esx/vmw/vendor-index.xml")
        with pytest.raises(DepotFetchError) as ei:
            load_depot([url], **_fast())
        msg = str(ei.value)
        assert "certificate" in msg and "validate_certs" in msg and url in msg
        d = load_depot([url], validate_certs=False, **_fast())
        assert len(d.vibs) == 2
        # trusting the CA explicitly also works, with verification on
        c = HttpClient(validate_certs=True, ca_path=cert, timeout=5, retries=0)
        assert c.get_bytes(url, expect="xml").startswith(b"<metaList>")
    finally:
        srv.close()


def test_proxy_option_is_honoured(srv):
    proxy = ForwardingProxy()
    try:
        d = load_depot([srv.url("index.xml")], proxy=proxy.url, **_fast())
        assert len(d.vibs) == 2
        assert srv.url("index.xml") in proxy.forwarded
        assert srv.url("esx/vmw/vmw-ESXi-80-metadata.zip") in proxy.forwarded
        dead = "http://127.0.0.1:%d" % closed_port()
        with pytest.raises(DepotFetchError) as ei:
            load_depot([srv.url("index.xml")], proxy=dead, **_fast())
        assert "proxy" in str(ei.value).lower()
    finally:
        proxy.close()


def test_dns_failure_is_a_fetch_error():
    with pytest.raises(DepotError) as ei:
        load_depot(["http://no-such-host.invalid/%s/index.xml" % TOKEN], timeout=3, retries=0)
    assert isinstance(ei.value, DepotFetchError)
    assert TOKEN not in str(ei.value)
    assert "DNS" in str(ei.value) or "refused" in str(ei.value) or "unreachable" in str(ei.value)


def test_local_and_http_sources_merge(srv):
    d = load_depot([SATA, srv.url("index.xml")], **_fast())
    assert len(d.vibs) == 3 and d.sources[0] == SATA and d.sources[1] == srv.url("index.xml")
