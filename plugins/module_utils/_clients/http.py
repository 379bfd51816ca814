# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: HTTP(S) downloads of depot files, and the one ``requests`` session factory of the client layer.

* ``session_factory(validate_certs, ca_path, proxies, trust_env)`` builds every ``requests.Session`` of the
  collection (depot downloads here, datastore ``/folder`` transfers, the vAPI REST client) with one TLS policy,
  ``tls_verify()``: ``validate_certs: false`` -> no verification (and no InsecureRequestWarning noise);
  else ``ca_path`` (a PEM file or a c_rehash'd directory), else ``REQUESTS_CA_BUNDLE``, else the system store.

* Every failure (DNS, refused, timeout, TLS/certificate, HTTP status, oversize body, HTML where XML or a zip
  was expected) becomes ``DepotFetchError`` whose message names the REDACTED URL and the reason.
* Optional on-disk cache (``cache_dir``): the body plus its ``ETag``/``Last-Modified``; the next request is
  conditional (``If-None-Match``/``If-Modified-Since``) and a ``304`` reuses the cached body. Cache file names
  are sha256 digests of the URL, and the metadata stores only the redacted URL.
* Retries with exponential backoff on connection errors, timeouts, 429 and 5xx.
Breaking changes at any time.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import ssl
import tempfile
import time
import traceback
from typing import Set, Tuple, Any, Dict, Optional, Union

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import DepotFetchError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import (
    redact_text, redact_url, url_secrets)

try:
    import requests
    from requests import exceptions as _rexc
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the controller
    requests = None  # type: ignore[assignment]
    _rexc = None  # type: ignore[assignment]
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

DEFAULT_MAX_BYTES = 1024 * 1024 * 1024      # 1 GiB: a full ESXi offline depot is about 350-600 MB
_CHUNK = 1024 * 1024
_RETRY_STATUS = frozenset((429, 500, 502, 503, 504))
_MAX_RETRY_AFTER = 10.0
USER_AGENT = "fleetpatch.esxi depot client"


def tls_verify(validate_certs: bool, ca_path: Optional[str] = None) -> Union[bool, str]:
    """The ``verify`` value of the collection's one TLS policy (see the module docstring)."""
    if not validate_certs:
        return False
    return ca_path or os.environ.get("REQUESTS_CA_BUNDLE") or True


def session_factory(validate_certs: bool = True, ca_path: Optional[str] = None,
                    proxies: Optional[Dict[str, str]] = None, trust_env: bool = False,
                    user_agent: str = USER_AGENT) -> Any:
    """A ``requests.Session`` with the one TLS policy. ``trust_env=False`` (vSphere endpoints) ignores proxy and
    netrc settings of the environment; depot downloads keep them (``trust_env=True``). ``proxies``: explicit
    ``{"http": url, "https": url}``. Raises ``ImportError`` when requests is missing (callers check
    ``HAS_REQUESTS`` first and report it in their own error class)."""
    if requests is None:
        raise ImportError("the Python library requests is required (pip install requests)")
    s = requests.Session()
    s.trust_env = bool(trust_env)
    s.verify = tls_verify(validate_certs, ca_path)
    s.headers["User-Agent"] = user_agent
    if proxies:
        s.proxies = dict(proxies)
    if s.verify is False:
        try:
            import urllib3
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        except Exception:  # pragma: no cover - urllib3 comes with requests
            pass
    return s


def url_secret_parts(url: Optional[str]) -> Set[str]:
    """The strings that ``redact_url`` hides in ``url`` (the one redactor: ``_common.secrets.url_secrets``)."""
    return url_secrets(url)


def looks_like_html(body: bytes, content_type: str = "") -> bool:
    if "html" in (content_type or "").lower():
        return True
    head = body[:512].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html") or b"<html" in head[:256] \
        and not head.startswith(b"<?xml")


def check_content(body: bytes, expect: Optional[str], content_type: str = "") -> Optional[str]:
    """None if ``body`` looks like ``expect`` (``xml``/``zip``/``vib``/None), else the reason."""
    if expect is None:
        return None
    if looks_like_html(body, content_type):
        return "the server returned an HTML page (content-type %r) where %s was expected; a login page, " \
               "proxy or error page?" % (content_type or "unknown", "XML" if expect == "xml" else "a %s file" % expect)
    if expect == "zip" and not body.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "the server returned %d bytes that are not a zip file (content-type %r)" % (len(body), content_type)
    if expect == "vib" and not body.startswith(b"!<arch>\n"):
        return "the server returned %d bytes that are not a VIB (content-type %r)" % (len(body), content_type)
    if expect == "xml" and not body.lstrip()[:1] == b"<":
        return "the server returned %d bytes that are not XML (content-type %r)" % (len(body), content_type)
    return None


class HttpClient(object):
    """Fetch depot files over HTTP(S). One instance per module run; reuses its connections."""

    def __init__(self, validate_certs: bool = True, proxy: Optional[str] = None, timeout: Union[float, int] = 30,
                 retries: int = 2, cache_dir: Optional[str] = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, backoff: float = 0.5, ca_path: Optional[str] = None) -> None:
        self.validate_certs = validate_certs
        self.proxy = proxy or None
        self.timeout = timeout
        self.retries = max(0, int(retries or 0))
        self.cache_dir = os.path.join(cache_dir, "http") if cache_dir else None
        self.max_bytes = max_bytes
        self.backoff = backoff
        self.ca_path = ca_path
        self.requests_made = 0
        self._session = None

    # ---- plumbing -----------------------------------------------------------------------------------
    def _fail(self, url: Optional[str], reason: str, **details: Any) -> DepotFetchError:
        secrets = url_secret_parts(url)
        if self.proxy:
            secrets |= url_secret_parts(self.proxy)
        reason = redact_text(reason, secrets) or reason
        if url:
            reason = reason.replace(str(url), redact_url(url) or "")
        return DepotFetchError(reason, source=redact_url(url), **details)

    def _get_session(self, url: str) -> Any:
        if requests is None:
            raise self._fail(url, "the Python library requests is required for HTTP(S) depots (pip install requests)",
                             import_error=REQUESTS_IMPORT_ERROR)
        if self._session is None:
            self._session = session_factory(self.validate_certs, self.ca_path, trust_env=True,
                                            proxies={"http": self.proxy, "https": self.proxy} if self.proxy else None)
        return self._session

    def _cache_paths(self, url: str) -> Tuple[str, str]:
        key = hashlib.sha256(str(url).encode("utf-8")).hexdigest()
        base = self.cache_dir or ""
        return os.path.join(base, key + ".body"), os.path.join(base, key + ".json")

    def _cache_load(self, url: str) -> Union[Tuple[Dict[str, Any], str], Tuple[None, None]]:
        if not self.cache_dir:
            return None, None
        body_p, meta_p = self._cache_paths(url)
        try:
            with open(meta_p, "r") as f:
                meta = json.load(f)
            if not isinstance(meta, dict):
                return None, None
            if not os.path.isfile(body_p) or os.path.getsize(body_p) != meta.get("size"):
                return None, None
            return meta, body_p
        except (OSError, ValueError):
            return None, None

    def _cache_store(self, url: str, body: bytes, resp: Any) -> None:
        if not self.cache_dir:
            return
        etag = resp.headers.get("ETag")
        lm = resp.headers.get("Last-Modified")
        if not etag and not lm:
            return
        if any(s.encode("utf-8") in body for s in url_secret_parts(url) | url_secret_parts(self.proxy)):
            return   # the document quotes a credential of its own URL: never write that to disk
        try:
            os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
            body_p, meta_p = self._cache_paths(url)
            for path, data in ((body_p, body), (meta_p, json.dumps({
                    "url": redact_url(url), "etag": etag, "last_modified": lm, "size": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "content_type": resp.headers.get("Content-Type", "")}).encode("utf-8"))):
                fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=".tmp-")
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
        except OSError:
            pass   # a cache that cannot be written is not an error

    @staticmethod
    def _reason(exc: Any) -> str:
        """A short, URL-free reason for a requests exception."""
        text = str(exc)
        low = text.lower()
        if _rexc is not None and isinstance(exc, _rexc.SSLError):
            detail = "certificate verify failed" if "certificate verify failed" in low else "TLS handshake failed"
            for hint in ("self-signed certificate in certificate chain", "self-signed certificate",
                         "self signed certificate", "unable to get local issuer certificate",
                         "certificate has expired", "hostname mismatch", "doesn't match",
                         "wrong version number"):
                if hint in low:
                    detail += ": " + hint
                    break
            return "TLS/certificate error (%s); install the depot's CA certificate or, for a trusted lab " \
                   "depot only, set validate_certs: false" % detail
        if _rexc is not None and isinstance(exc, _rexc.ProxyError):
            return "proxy error: the proxy refused or failed the request"
        if _rexc is not None and isinstance(exc, (_rexc.ConnectTimeout,)):
            return "connection timed out"
        if _rexc is not None and isinstance(exc, (_rexc.ReadTimeout, socket.timeout)):
            return "timed out waiting for the server"
        if "name or service not known" in low or "nodename nor servname" in low or "nameresolution" in low \
                or "temporary failure in name resolution" in low or "getaddrinfo failed" in low \
                or "no address associated" in low:
            return "DNS lookup failed (host name not found)"
        if "connection refused" in low or "errno %d" % errno.ECONNREFUSED in low:
            return "connection refused"
        if "connection reset" in low or "connection aborted" in low or "remotedisconnected" in low:
            return "connection reset by the server"
        if "network is unreachable" in low or "no route to host" in low:
            return "network unreachable"
        if _rexc is not None and isinstance(exc, _rexc.InvalidURL):
            return "invalid URL"
        if _rexc is not None and isinstance(exc, (_rexc.InvalidSchema, _rexc.MissingSchema)):
            return "unsupported or missing URL scheme (use http:// or https://)"
        if _rexc is not None and isinstance(exc, _rexc.ChunkedEncodingError):
            return "the connection broke while reading the body"
        if _rexc is not None and isinstance(exc, _rexc.ContentDecodingError):
            return "the body could not be decoded"
        return "request failed (%s)" % type(exc).__name__

    def _sleep(self, attempt: int, retry_after: Optional[Any] = None) -> None:
        delay = self.backoff * (2 ** attempt)
        if retry_after:
            try:
                delay = max(delay, min(float(retry_after), _MAX_RETRY_AFTER))
            except ValueError:
                pass
        if delay > 0:
            time.sleep(delay)

    # ---- public API ---------------------------------------------------------------------------------
    def get_bytes(self, url: str, expect: Optional[str] = None, max_bytes: Optional[int] = None) -> bytes:
        """The body of ``url`` (bytes). ``expect`` (``xml``, ``zip``, ``vib`` or None) rejects HTML error pages
        and bodies of the wrong kind. Raises ``DepotFetchError``."""
        return self._get(url, expect, max_bytes, None)

    def download(self, url: str, dest: str, expect: Optional[str] = None, max_bytes: Optional[int] = None) -> int:
        """Stream ``url`` into the file ``dest`` (written atomically); returns the number of bytes."""
        return self._get(url, expect, max_bytes, dest)

    def _get(self, url: str, expect: Optional[str], max_bytes: Optional[int], dest: Optional[str]) -> Any:
        limit = self.max_bytes if max_bytes is None else max_bytes
        session = self._get_session(url)
        meta, cached_body = self._cache_load(url) if dest is None else (None, None)
        headers = {}
        if meta:
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
        attempt = 0
        while True:
            retry_after = None
            try:
                self.requests_made += 1
                # verify/proxies per request: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a
                # session-level verify=False, which would silently ignore validate_certs: false
                resp = session.get(url, headers=headers, stream=True, timeout=(self.timeout, self.timeout),
                                   allow_redirects=True, verify=session.verify,
                                   proxies=session.proxies or None)
            except Exception as e:  # every transport failure of requests/urllib3/ssl
                if _rexc is not None and isinstance(e, _rexc.RequestException) or isinstance(e,
                                                                                             (OSError, ssl.SSLError)):
                    transient = not (_rexc is not None and isinstance(e, (_rexc.SSLError, _rexc.InvalidURL,
                                                                          _rexc.InvalidSchema,
                                                                          _rexc.MissingSchema)))
                    if transient and attempt < self.retries:
                        self._sleep(attempt)
                        attempt += 1
                        continue
                    tries = " after %d attempts" % (attempt + 1) if attempt else ""
                    raise self._fail(url, "%s%s" % (self._reason(e), tries))
                raise
            try:
                status = resp.status_code
                if status == 304 and meta:
                    try:
                        with open(str(cached_body), "rb") as f:
                            body = f.read()
                    except OSError as e:
                        raise self._fail(url, "cached copy unreadable: %s" % e.strerror)
                    if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
                        # corrupt cache: drop it and fetch again unconditionally
                        meta, headers = None, {}
                        continue
                    return body
                if status in _RETRY_STATUS and attempt < self.retries:
                    retry_after = resp.headers.get("Retry-After")
                    resp.close()
                    self._sleep(attempt, retry_after)
                    attempt += 1
                    continue
                if status >= 400:
                    tries = " after %d attempts" % (attempt + 1) if attempt else ""
                    hint = ""
                    if status in (401, 403):
                        hint = " (access denied: a missing or expired download token?)"
                    elif status == 404:
                        hint = " (not found)"
                    raise self._fail(url, "HTTP %d %s%s%s" % (status, resp.reason or "", hint, tries), status=status)
                if status != 200:
                    raise self._fail(url, "unexpected HTTP status %d" % status, status=status)
                ctype = resp.headers.get("Content-Type", "")
                clen = resp.headers.get("Content-Length")
                if clen and clen.isdigit() and limit is not None and int(clen) > limit:
                    raise self._fail(url, "response of %s bytes exceeds the limit of %d bytes" % (clen, limit))
                return self._read_body(url, resp, limit, expect, ctype, dest)
            except DepotFetchError:
                raise
            except Exception as e:
                if _rexc is not None and isinstance(e, _rexc.RequestException) or isinstance(e, OSError):
                    if attempt < self.retries and not isinstance(e, _rexc.SSLError):
                        self._sleep(attempt)
                        attempt += 1
                        continue
                    raise self._fail(url, self._reason(e))
                raise
            finally:
                resp.close()

    def _read_body(self, url: str, resp: Any, limit: int, expect: Optional[str], ctype: str,
                   dest: Optional[str]) -> Any:
        chunks = []
        total = 0
        out = None
        tmp = None
        try:
            if dest is not None:
                d = os.path.dirname(os.path.abspath(dest))
                fd, tmp = tempfile.mkstemp(dir=d, prefix=".part-")
                out = os.fdopen(fd, "wb")
            first = b""
            for chunk in resp.iter_content(_CHUNK):
                if not chunk:
                    continue
                total += len(chunk)
                if limit is not None and total > limit:
                    raise self._fail(url, "response exceeds the limit of %d bytes" % limit)
                if not first:
                    first = chunk[:1024]
                    problem = check_content(first, expect, ctype) if expect in ("zip", "vib") else None
                    if problem:
                        raise self._fail(url, problem)
                if out is not None:
                    out.write(chunk)
                else:
                    chunks.append(chunk)
            if out is not None:
                out.close()
                out = None
                problem = check_content(first, expect, ctype) if expect else None
                if problem:
                    raise self._fail(url, problem)
                os.replace(str(tmp), str(dest))
                tmp = None
                return total
        finally:
            if out is not None:
                out.close()
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        body = b"".join(chunks)
        problem = check_content(body, expect, ctype)
        if problem:
            raise self._fail(url, problem)
        self._cache_store(url, body, resp)
        return body

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
