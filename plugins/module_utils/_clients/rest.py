# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the one REST session base of vCenter's REST clients (``vapi.VapiClient`` for ``/rest``,
``vlcm.VlcmClient`` for ``/api``). Breaking changes at any time.

``RestSession`` holds what both need: the connection options (hostname, port, user, password, ``validate_certs``,
``ca_path``, ``proxy_host``/``proxy_port``: an HTTP CONNECT proxy for this endpoint only), one ``requests``
session from ``_clients/http.py`` (the one TLS policy), one HTTP exchange (``_exchange``: JSON in, JSON out,
network and TLS faults raised as errors naming the endpoint and the call), the login (HTTP basic auth; the session
id goes back in the ``vmware-api-session-id`` header), one transparent login again when the server answers 401
to a call, and the logout (``close()``).

With a session cache (``_clients/session_cache.py``, the ``session_cache`` connection option) the login goes
through the cache: a cached session of the same endpoint, user and password is reused (optimistically: a 401
drops it and logs in again), and ``close()`` does not log out (``logout()`` does, for the ``vmware_session``
module). A subclass says what differs: ``LABEL`` (the prefix of its messages), ``USER_AGENT``, ``CACHE_KIND``,
``SESSION_URL`` (the login/logout path), ``_session_value`` (where the id is in the login answer) and ``_fail``
(its API's error bodies). No password or session id ever reaches a message.
"""

from __future__ import annotations

import atexit
import json
import os
import traceback
import warnings
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import session_factory, tls_verify
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.session_cache import (
    CacheKey, SessionCache, cache_from_params)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import endpoint_label
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    ConnectionFailedError, InputError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact, register_secret

try:
    from requests import exceptions as _rexc
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR: Optional[str] = None
except ImportError:  # pragma: no cover - depends on the controller
    _rexc = None  # type: ignore[assignment]
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

SESSION_HEADER = "vmware-api-session-id"
DEFAULT_TIMEOUT = 60.0
CERT_HINT = ("certificate verification failed; this is a TLS certificate problem, not a login problem. "
             "Give the CA bundle that signed the server certificate (ca_path, REQUESTS_CA_BUNDLE or "
             "SSL_CERT_FILE), or set validate_certs: false for lab hosts only")


class RestSession(object):
    """One REST session to a vCenter (see the module docstring). Subclasses set the class attributes below."""

    LABEL = "vCenter REST"
    WHAT_FOR = "the vCenter REST API"     # "the Python library requests is required for <WHAT_FOR>"
    USER_AGENT = "fleetpatch.esxi REST client"
    CACHE_KIND = "api"
    SESSION_URL = "/api/session"
    MAX_BODY = 32 * 1024 * 1024
    CERT_HINT = CERT_HINT

    @classmethod
    def _connection_kwargs(cls, params: Dict[str, Any]) -> Dict[str, Any]:
        return dict(port=params.get("port") or 443, validate_certs=params.get("validate_certs", True),
                    ca_path=params.get("ca_path"), proxy_host=params.get("proxy_host"),
                    proxy_port=params.get("proxy_port"), session_cache=cache_from_params(params))

    def __init__(self, hostname: Optional[str], username: Optional[str], password: Optional[str], port: int = 443,
                 validate_certs: bool = True, ca_path: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT,
                 proxy_host: Optional[str] = None, proxy_port: Optional[int] = None,
                 session_cache: Optional[SessionCache] = None) -> None:
        if not HAS_REQUESTS:
            raise VSphereError("the Python library requests is required for %s (pip install requests)"
                               % self.WHAT_FOR, import_error=REQUESTS_IMPORT_ERROR)
        if not hostname:
            raise InputError("hostname is required to connect to vCenter")
        self.hostname = str(hostname)
        self.port = int(port or 443)
        self.username = username
        self._password = password
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path
        if self.validate_certs and ca_path and not os.path.exists(ca_path):
            raise InputError("cannot load the CA bundle %s: no such file or directory" % ca_path)
        self.timeout = float(timeout)
        # HTTP proxy (CONNECT tunnel) for this endpoint only; the environment's proxies are not used for it.
        self.proxy_host = str(proxy_host) if proxy_host else None
        self.proxy_port = int(proxy_port or 80)
        self.session_cache = session_cache
        self.session_reused = False      # the current session came from the cache
        self.logins = 0                  # logins this client made (not counting reused sessions)
        self._http: Any = None
        self._session_id: Optional[str] = None
        self._atexit = False

    # ---- identity --------------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return endpoint_label(self.hostname, self.port)

    @property
    def secrets(self) -> List[str]:
        return [s for s in (self._password, self._session_id) if s]

    @property
    def connected(self) -> bool:
        return self._session_id is not None

    def _redact(self, text: Any) -> str:
        return redact(str(text), self.secrets) or ""

    def _verify(self) -> Any:
        return tls_verify(self.validate_certs, self.ca_path)

    def _session(self) -> Any:
        if self._http is None:
            url = "http://" + endpoint_label(self.proxy_host, self.proxy_port) if self.proxy_host else None
            # no proxies or netrc from the environment for the vCenter endpoint (trust_env False)
            s = session_factory(self.validate_certs, self.ca_path, proxies={"http": url, "https": url} if url else None,
                                trust_env=False, user_agent=self.USER_AGENT)
            s.headers["Accept"] = "application/json"
            self._http = s
        return self._http

    def _session_url(self) -> str:
        return "https://%s%s" % (self.endpoint, self.SESSION_URL)

    # ---- one exchange ----------------------------------------------------------------------------------------
    def _exchange(self, method: str, url: str, body: Any = None, auth: Optional[Tuple[str, str]] = None,
                  what: str = "", session_id: Optional[str] = None) -> Tuple[int, Any]:
        """One HTTP exchange; returns (status, parsed JSON or None). Network and TLS faults are raised.
        ``session_id`` overrides the client's own (a logout of a cached session)."""
        headers: Dict[str, str] = {}
        sid = session_id or self._session_id
        if sid and auth is None:
            headers[SESSION_HEADER] = sid
        kwargs: Dict[str, Any] = {"headers": headers, "verify": self._verify(), "timeout": self.timeout,
                                  "allow_redirects": False}
        if auth is not None:
            kwargs["auth"] = auth
        if body is not None:
            kwargs["data"] = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            with warnings.catch_warnings():
                if kwargs["verify"] is False:
                    warnings.simplefilter("ignore")     # the user chose validate_certs: false
                resp = self._session().request(method, url, **kwargs)
                raw = resp.content[:self.MAX_BODY]
        except _rexc.SSLError as exc:
            reason = self._redact(exc)
            if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
                raise ConnectionFailedError("%s: %s failed: %s (%s)" % (self.LABEL, what, self.CERT_HINT, reason),
                                            host=self.endpoint, certificate_error=True)
            raise ConnectionFailedError("%s: %s failed: TLS error: %s" % (self.LABEL, what, reason), host=self.endpoint)
        except _rexc.Timeout as exc:
            raise ConnectionFailedError("%s: %s timed out after %ss (%s)"
                                        % (self.LABEL, what, self.timeout, self._redact(exc)), host=self.endpoint)
        except _rexc.ConnectionError as exc:
            raise ConnectionFailedError("%s: %s failed: cannot connect (%s)" % (self.LABEL, what, self._redact(exc)),
                                        host=self.endpoint)
        except _rexc.RequestException as exc:
            raise VSphereError("%s: %s failed: %s" % (self.LABEL, what, self._redact(exc)), host=self.endpoint)
        status = resp.status_code
        resp.close()
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw.decode("utf-8", "replace"))
            except ValueError:
                parsed = None
        return status, parsed

    def _fail(self, what: str, status: int, body: Any, login: bool = False) -> VSphereError:
        """The exception for a non-2xx answer (the subclass knows its API's error bodies)."""
        return VSphereError("%s: %s failed: %s" % (self.LABEL, what, self._redact("HTTP %s" % status)),
                            host=self.endpoint, http_status=status)

    def _session_value(self, parsed: Any) -> Any:
        """The session id in the login answer (``/api``: the JSON string itself)."""
        return parsed

    def _request(self, method: str, url: str, body: Any = None, what: str = "", retry: bool = True) -> Any:
        """A call on the session; returns the parsed answer. Logs in again once if the server lost the session."""
        if self._session_id is None:
            self.connect()
        status, parsed = self._exchange(method, url, body=body, what=what)
        if status == 401 and retry:
            self._relogin()
            return self._request(method, url, body=body, what=what, retry=False)
        if not 200 <= status < 300:
            raise self._fail(what, status, parsed)
        return parsed

    # ---- session ---------------------------------------------------------------------------------------------
    def _cache_key(self) -> Optional[CacheKey]:
        if self.session_cache is None:
            return None
        return self.session_cache.key(self.CACHE_KIND, self.endpoint, self.username, self._password)

    def _login(self) -> str:
        what = "login as %s" % self.username
        status, parsed = self._exchange("POST", self._session_url(), auth=(str(self.username), str(self._password)),
                                        what=what)
        if not 200 <= status < 300:
            raise self._fail(what, status, parsed, login=True)
        value = self._session_value(parsed)
        if not isinstance(value, str) or not value:
            raise VSphereError("%s: %s: the answer holds no session id" % (self.LABEL, what), host=self.endpoint)
        register_secret(value)
        self.logins += 1
        return value

    def _logout_id(self, session_id: str) -> None:
        self._exchange("DELETE", self._session_url(), what="logout", session_id=session_id)

    def connect(self) -> Any:
        """Log in, or take the cached session (idempotent)."""
        if self._session_id is not None:
            return self
        if not self.username or not self._password:
            raise InputError("%s needs a user name and a password" % self.LABEL, host=self.endpoint)
        key = self._cache_key()
        if key is not None and self.session_cache is not None:
            # optimistic reuse: a session the server no longer knows answers 401 and _request logs in again
            self._session_id, self.session_reused = self.session_cache.obtain(
                key, self._login, alive=lambda sid: True, logout=self._logout_id)
        else:
            self._session_id, self.session_reused = self._login(), False
        if not self._atexit:
            atexit.register(self.close)
            self._atexit = True
        return self

    def _relogin(self) -> None:
        """The server refused the session (401): forget it (and its cache entry) and log in again."""
        old, self._session_id = self._session_id, None
        key = self._cache_key()
        if key is not None and self.session_cache is not None and old:
            self.session_cache.discard(key, old)
        self.connect()

    def logout(self) -> bool:
        """Log the session out now, whether it came from the cache or not, and the cached one of this endpoint,
        user and password; forget the cache entry. True when there was a session. A network failure is raised
        (the entry is kept for a later try); a session the server no longer knows counts as logged out."""
        key = self._cache_key()
        cached = self.session_cache.peek(key) if key is not None and self.session_cache is not None else None
        ids = [sid for sid in (self._session_id, cached) if sid]
        for sid in dict.fromkeys(ids):
            self._logout_id(sid)
        if key is not None and self.session_cache is not None and cached:
            self.session_cache.discard(key, cached)
        self._session_id = None
        self.close()
        return bool(ids)

    def close(self) -> None:
        """Log out (unless the session is cached for the next run) and release the connection. Safe to call
        twice; never raises."""
        if self._session_id is not None and self.session_cache is None:
            try:
                self._logout_id(self._session_id)
            except Exception:  # pylint: disable=broad-except
                pass
        self._session_id = None
        if self._http is not None:
            try:
                self._http.close()
            except Exception:  # pylint: disable=broad-except
                pass
            self._http = None
        if self._atexit:
            try:
                atexit.unregister(self.close)
            except Exception:  # pylint: disable=broad-except
                pass
            self._atexit = False

    def __enter__(self) -> Any:
        return self.connect()

    def __exit__(self, *exc: Any) -> Any:
        self.close()
        return False
