# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP/1.1 answer reader of the one-thread SOAP mux (_clients/vsphere/soapmux.py): Content-Length and
chunked answers (govmomi's server sends both), a 100 Continue before the answer, keep-alive and close, and
refusals of what it does not read (the caller then asks the host the ordinary way). The mux itself runs against
the simulator in tests/integration/fleet."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import soapmux


def parse(raw):
    return soapmux._parse(bytearray(raw))


def test_content_length_answer_and_partial_reads():
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 5\r\nSet-Cookie: a=b\r\n\r\nhello"
    for cut in (10, len(raw) - 6, len(raw) - 1):
        assert parse(raw[:cut]) is None                  # more bytes needed
    status, headers, body, used, keep = parse(raw)
    assert (status, body, used, keep) == (200, b"hello", len(raw), True)
    assert headers["set-cookie"] == "a=b" and headers["content-type"] == "text/xml"


def test_chunked_answer_with_and_without_trailers():
    raw = (b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"4\r\n<a/>\r\n3;x=y\r\n<b>\r\n0\r\n\r\n")
    status, _h, body, used, keep = parse(raw)
    assert (status, body, used, keep) == (500, b"<a/><b>", len(raw), True)
    assert parse(raw[:-2]) is None
    trailer = raw[:-2] + b"X-T: 1\r\n\r\n"
    assert parse(trailer)[2] == b"<a/><b>" and parse(trailer)[3] == len(trailer)


def test_continue_then_answer_and_close():
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    status, _h, body, used, keep = parse(raw)
    assert (status, body, used, keep) == (200, b"ok", len(raw), False)     # HTTP/1.0: not kept alive
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    assert parse(close)[4] is False


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 200 OK\r\n\r\nno length, read until close",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"SSH-2.0-OpenSSH\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nbroken header line\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
def test_what_it_does_not_read_is_refused(raw):
    with pytest.raises(soapmux.MuxError):
        parse(raw)


def test_only_plain_https_stubs_are_used():
    pyVmomi = pytest.importorskip("pyVmomi")
    import ssl
    ctx = ssl.create_default_context()
    plain = pyVmomi.SoapAdapter.SoapStubAdapter(host="127.0.0.1", port=8443, sslContext=ctx)
    assert soapmux.usable(plain)
    proxied = pyVmomi.SoapAdapter.SoapStubAdapter(host="127.0.0.1", port=8443, sslContext=ctx,
                                                   httpProxyHost="proxy.example", httpProxyPort=3128)
    assert not soapmux.usable(proxied)
    pinned = pyVmomi.SoapAdapter.SoapStubAdapter(host="127.0.0.1", port=8443, sslContext=ctx, thumbprint="ab" * 20)
    assert not soapmux.usable(pinned)
    assert not soapmux.usable(object())
