# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: many small SOAP calls of one session at once on ONE thread (issue 14). Breaking changes at any time.

A fleet scan asks every host three small questions (image profile, image install date, acceptance level). With a
pool of threads each call costs the controller the machinery of ``http.client`` plus a GIL hand-over per thread,
and the scan of 1,000 hosts spends more time there than in the round trips. ``Mux`` keeps ``connections``
non-blocking TLS connections to the endpoint of a pyVmomi stub and drives them with one ``selectors`` loop: each
connection sends one request (HTTP/1.1, keep-alive, the stub's session cookie and headers, the body pyVmomi
serialised) and reads its answer, then takes the next job. Answers are ``(HTTP status, body)``; reading them is
the caller's (``fastsoap`` readers, pyVmomi for faults).

It is used only where it can be exact: a plain HTTPS stub (no proxy tunnel, no client certificate, no thumbprint
pinning). A job whose connection fails gets the exception as its answer and the caller asks that host again the
ordinary way; the loop opens a new connection for the jobs after it.
"""

from __future__ import annotations

import collections
import gzip
import selectors
import socket
import ssl
import threading
import time
import zlib
from http.client import HTTPConnection, HTTPSConnection
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

MAX_HEADER_BYTES = 64 * 1024


class MuxError(Exception):
    """A connection of the mux failed (the job is asked again the ordinary way)."""


def usable(stub: Any) -> bool:
    """Whether ``stub`` is a plain HTTPS ``SoapStubAdapter`` the mux can speak for exactly."""
    return (getattr(stub, "scheme", None) is HTTPSConnection and not getattr(stub, "is_tunnel", True)
            and not getattr(stub, "thumbprint", None) and not getattr(stub, "certFile", None)
            and isinstance(getattr(stub, "schemeArgs", {}).get("context"), ssl.SSLContext)
            and isinstance(getattr(stub, "host", None), str) and isinstance(getattr(stub, "port", None), int))


class _Conn(object):
    __slots__ = ("sock", "state", "out", "inbuf", "job", "deadline")

    def __init__(self, sock: Any, deadline: float) -> None:
        self.sock = sock
        self.state = "handshake"
        self.out = b""
        self.inbuf = bytearray()
        self.job: Optional[int] = None
        self.deadline = deadline


def _parse(buf: bytearray) -> Optional[Tuple[int, Dict[str, str], bytes, int, bool]]:
    """One complete HTTP/1.1 response at the start of ``buf``: ``(status, headers, body, consumed, keep_alive)``,
    or None when more bytes are needed. MuxError for what this reader does not do."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEADER_BYTES:
            raise MuxError("response header too large")
        return None
    lines = bytes(buf[:end]).decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise MuxError("not an HTTP/1.x response: %r" % lines[0][:80])
    status = int(parts[1])
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        k, sep, v = line.partition(":")
        if not sep:
            raise MuxError("bad response header")
        k = k.strip().lower()
        headers[k] = (headers[k] + ", " + v.strip()) if k in headers and k == "set-cookie" else v.strip()
    keep = parts[0] != "HTTP/1.0" and headers.get("connection", "").lower() != "close"
    start = end + 4
    if status == 100:
        return _parse_after(buf, start)
    te = headers.get("transfer-encoding", "").lower()
    if te:
        if te != "chunked":
            raise MuxError("transfer-encoding %s" % te)
        body = bytearray()
        pos = start
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            try:
                size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
            except ValueError:
                raise MuxError("bad chunk size")
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", eol)
                if trailer_end < 0:
                    return None
                return status, headers, bytes(body), trailer_end + 4, keep
            if len(buf) < eol + 2 + size + 2:
                return None
            body += buf[eol + 2:eol + 2 + size]
            pos = eol + 2 + size + 2
    if "content-length" not in headers:
        raise MuxError("response without a length")     # read-until-close: the ordinary path's job
    try:
        length = int(headers["content-length"])
    except ValueError:
        raise MuxError("bad content-length")
    if len(buf) < start + length:
        return None
    return status, headers, bytes(buf[start:start + length]), start + length, keep


def _parse_after(buf: bytearray, start: int) -> Optional[Tuple[int, Dict[str, str], bytes, int, bool]]:
    """A ``100 Continue`` is skipped: the response after it."""
    rest = _parse(buf[start:])
    if rest is None:
        return None
    status, headers, body, used, keep = rest
    return status, headers, body, start + used, keep


class Mux(object):
    """Jobs (request bodies) answered over ``connections`` connections of ``stub``'s endpoint on this thread.
    ``on_answer(job id, status, body or None, error or None)`` is called as each answer arrives and may ``add``
    more jobs (a host's next call)."""

    def __init__(self, stub: Any, connections: int, timeout: float) -> None:
        self.stub = stub
        self.connections = max(1, connections)
        self.timeout = timeout
        host = stub.host
        self.server = host.rsplit(":", 1)[0]
        self.addr = self.server.strip("[]")
        self.port = stub.port
        self.context = stub.schemeArgs["context"]
        self.queue: Deque[int] = collections.deque()
        self.requests: Dict[int, bytes] = {}
        self._next = 0
        self._sockaddr: Any = None
        self.failed_connections = 0
        self.stop = False           # set by another thread: run() returns at its next turn
        self.more = False           # set while another thread may still add jobs: run() waits for them
        self.lock = threading.Lock()    # held by whoever adds jobs while run() runs
        self._head: Optional[Tuple[Any, bytes, bytes]] = None

    def _request(self, body: bytes) -> bytes:
        s = self.stub
        # the head is the same for every request but its length (and the cookie, which an answer may renew):
        # built once per cookie and custom headers
        key = (s.cookie, s.host, s.path, s.versionId, tuple((getattr(s, "_customHeaders", None) or {}).items()))
        if self._head is None or self._head[0] != key:
            mark = "\x00"
            headers = [("Host", s.host), ("Accept-Encoding", "identity"), ("Content-Length", mark),
                       ("Cookie", s.cookie), ("SOAPAction", s.versionId),
                       ("Content-Type", "text/xml; charset=UTF-8")]
            from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.fastsoap import (
                _user_agent)
            headers.append(("User-Agent", _user_agent()))
            for k, v in key[4]:
                headers.append((k, v))
            head = "POST %s HTTP/1.1\r\n%s\r\n\r\n" % (s.path, "\r\n".join("%s: %s" % kv for kv in headers))
            before, after = head.split(mark, 1)
            self._head = (key, before.encode("latin-1"), after.encode("latin-1"))
        return b"%s%d%s%s" % (self._head[1], len(body), self._head[2], body)

    def add(self, body: bytes, first: bool = False) -> int:
        """Queue a SOAP request body (bytes), at the end or (``first``) at the head of the queue; returns its job
        id."""
        job = self._next
        self._next += 1
        self.requests[job] = body
        if first:
            self.queue.appendleft(job)
        else:
            self.queue.append(job)
        return job

    def _open(self, sel: Any) -> Optional[_Conn]:
        """A new connection, connecting and shaking hands without blocking (the loop drives both)."""
        try:
            if self._sockaddr is None:
                self._sockaddr = socket.getaddrinfo(self.addr, self.port, type=socket.SOCK_STREAM)[0]
            family, kind, proto, _name, addr = self._sockaddr
            raw = socket.socket(family, kind, proto)
            raw.setblocking(False)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = self.context.wrap_socket(raw, server_hostname=self.addr, do_handshake_on_connect=False)
            sock.connect_ex(addr)       # EINPROGRESS: writable once connected, then the handshake
        except (OSError, ssl.SSLError):
            return None
        conn = _Conn(sock, time.monotonic() + self.timeout)
        sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
        return conn

    def run(self, on_answer: Callable[[int, int, Optional[bytes], Optional[BaseException]], None]) -> None:
        """Answer every queued job (and the jobs ``on_answer`` adds)."""
        sel = selectors.DefaultSelector()
        conns: List[_Conn] = []
        try:
            while (self.queue or self.more or any(c.job is not None for c in conns)) and not self.stop:
                want = min(self.connections, len(self.queue) + sum(c.job is not None for c in conns))
                while len(conns) < want and self.failed_connections <= 3 * self.connections:
                    c = self._open(sel)
                    if c is None:
                        self.failed_connections += 1
                        break
                    conns.append(c)
                if not conns and not self.queue:    # no job yet: another thread is still adding them
                    time.sleep(0.002)
                    continue
                if not conns:
                    while self.queue:        # the endpoint cannot be reached this way: the ordinary path's job
                        job = self.queue.popleft()
                        on_answer(job, 0, None, MuxError("cannot connect"))
                    break
                for c in conns:
                    if c.state == "idle" and self.queue:
                        self._start(c, sel)
                events = sel.select(timeout=0.002 if self.more and not self.queue else 0.5)
                for key, mask in events:
                    self._step(key.data, mask, sel, conns, on_answer)
                # decrypted bytes left in a connection's TLS buffer wake no select: only a read fills that
                # buffer, so only the connections that had an event this turn can have some
                for key, _mask in events:
                    c = key.data
                    for _turn in range(64):     # each step reads what is there: bounded, never spinning
                        if c.state == "closed" or c not in conns or not c.sock.pending():
                            break
                        self._step(c, selectors.EVENT_READ, sel, conns, on_answer)
                now = time.monotonic()
                for c in list(conns):
                    if c.state not in ("idle", "closed") and now > c.deadline:
                        self._fail(c, sel, conns, on_answer, MuxError("timed out"))
        finally:
            for c in conns:
                self._close(c, sel)
            sel.close()

    def _start(self, c: _Conn, sel: Any) -> None:
        c.job = self.queue.popleft()
        c.out = self._request(self.requests.pop(c.job))
        c.state = "send"
        c.deadline = time.monotonic() + self.timeout
        # send at once: a small request fits the socket's buffer, so the connection goes straight to waiting
        # for its answer (it is registered for reading while idle) without a turn of the loop for writability
        try:
            n = c.sock.send(c.out)
        except (OSError, ssl.SSLError):     # would block, or failed: the loop's send retries (and reports it)
            n = 0
        c.out = c.out[n:]
        if c.out:
            sel.modify(c.sock, selectors.EVENT_WRITE, c)
        else:
            c.state = "recv"

    def _close(self, c: _Conn, sel: Any) -> None:
        if c.state != "closed":
            c.state = "closed"
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            try:
                c.sock.close()
            except OSError:
                pass

    def _fail(self, c: _Conn, sel: Any, conns: List[_Conn], on_answer: Any, exc: BaseException) -> None:
        job = c.job
        c.job = None
        self._close(c, sel)
        conns.remove(c)
        self.failed_connections += 1
        if job is not None:
            on_answer(job, 0, None, exc)

    def _step(self, c: _Conn, mask: int, sel: Any, conns: List[_Conn], on_answer: Any) -> None:
        try:
            if c.state == "handshake":
                try:
                    c.sock.do_handshake()
                except ssl.SSLWantReadError:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                    return
                except ssl.SSLWantWriteError:
                    sel.modify(c.sock, selectors.EVENT_WRITE, c)
                    return
                c.state = "idle"
                sel.modify(c.sock, selectors.EVENT_READ, c)
                if self.queue:
                    self._start(c, sel)
                return
            if c.state == "send":
                try:
                    n = c.sock.send(c.out)
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                    return
                c.out = c.out[n:]
                if not c.out:
                    c.state = "recv"
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                return
            if c.state in ("recv", "idle"):
                try:
                    data = c.sock.recv(262144)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    return
                if not data:
                    if c.state == "idle":          # the server closed a keep-alive connection: open another
                        self._close(c, sel)
                        conns.remove(c)
                        return
                    raise MuxError("connection closed before the answer")
                c.inbuf += data
                if c.state == "idle":
                    raise MuxError("data without a request")
                got = _parse(c.inbuf)
                if got is None:
                    return
                status, headers, body, used, keep = got
                del c.inbuf[:used]
                if c.inbuf:
                    raise MuxError("more data than one answer")
                cookie = headers.get("set-cookie")
                job, c.job = c.job, None
                c.state = "idle"
                if cookie:
                    self._cookie(cookie)
                if not keep:
                    self._close(c, sel)
                    conns.remove(c)
                encoding = headers.get("content-encoding", "identity").lower()
                if encoding == "gzip":          # asked for identity; read what the server sent anyway
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                on_answer(job, status, body, None)
                if keep and self.queue:
                    self._start(c, sel)
        except (OSError, ssl.SSLError, MuxError) as exc:
            if c in conns:
                self._fail(c, sel, conns, on_answer, exc)

    def _cookie(self, cookie: str) -> None:
        """A Set-Cookie of the session, kept as pyVmomi keeps it."""
        from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import fastsoap
        stub = self.stub
        stub.cookie = cookie
        soap = fastsoap._soap
        session = soap.SimpleCookie(cookie).get(soap.COOKIE_NAME)
        if session:
            soap.StubAdapterBase.SetSessionId(stub, session.value)


__all__ = ["Mux", "MuxError", "usable", "HTTPConnection"]
