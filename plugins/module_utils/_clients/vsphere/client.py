# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the vSphere client (pyVmomi) for ESXi hosts, directly or through vCenter. Breaking changes at any time.

``VSphereClient`` holds ONE SOAP session (to a vCenter or to one ESXi host) that serves every host the task
touches. Everything it returns is plain JSON-safe data, except ``Host`` handles, which are the collection's own
objects (name + moid, resolved against the *current* session, so they stay valid after a reconnect).
Every pyVmomi fault and network error becomes an exception of ``_errors.py`` naming the host (``translate``).

Typical use::

    with VSphereClient(hostname, username, password, port=443, validate_certs=True) as client:
        for host in client.find_hosts(cluster="C1"):
            facts = client.host_facts(host)
            result = client.patch_scan(host, meta_urls=[url])

Pure helpers (``parse_xml_result``, ``map_relation``, ``package_record_to_vib``, ``patch_status_dict``) need no
pyVmomi and are unit-tested.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import re
import time
from typing import Literal, TYPE_CHECKING, Callable, Iterator, Union, Any, Dict, List, Optional

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    FleetpatchError, AuthenticationError, ConnectionFailedError, HostNotConnectedError, InputError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import register_secret
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.session_cache import (
    SessionCache, cache_from_params)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (  # noqa: F401 (re-exports)
    HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR, backoff_delays, endpoint_label, poll_until, require_pyvmomi, translate,
    vim, wait_for_task)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (
    DEFAULT_LONG_TIMEOUT, DEFAULT_TIMEOUT, _parse_service_versions, build_ssl_context)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host import Host

if HAS_PYVMOMI:
    from pyVmomi import SoapStubAdapter, VmomiSupport
else:  # pragma: no cover
    SoapStubAdapter = VmomiSupport = None  # type: ignore[misc,assignment]

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (  # noqa: F401 (re-exports)
    VSAN_MODES, datastore_uuid, map_relation, package_record_dict, package_record_to_vib, parse_xml_result,
    patch_status_dict)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host import Host  # noqa: F401 (re-export)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.inventory import InventoryMixin
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.patch_manager import PatchManagerMixin
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.image_config import ImageConfigMixin
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host_ops import HostOpsMixin
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.events import EventsMixin
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.datastore_lookup import DatastoresMixin

if TYPE_CHECKING:
    from datetime import datetime


# ==== the client =================================================================================

class VSphereClient(InventoryMixin, PatchManagerMixin, ImageConfigMixin, HostOpsMixin, EventsMixin,
                    DatastoresMixin):
    """One SOAP session to vCenter or ESXi. Connects on construction; ``close()`` (also via ``with`` and at
    interpreter exit) logs out.

    With a ``session_cache`` (``_clients/session_cache.py``, the ``session_cache`` connection option) the login
    reuses the cached ``vmware_soap_session`` of the same endpoint, user and password when the server still knows
    it (``SessionManager.currentSession``), else logs in and caches the new one; ``close()`` then keeps the
    session for the next run and ``logout()`` ends it.

    ``timeout`` bounds connecting, logging in and each ordinary request; ``long_timeout`` bounds synchronous
    long calls (esxcli installs). ``ca_path`` is a PEM CA bundle (file or directory) for private CAs; without
    it ``$REQUESTS_CA_BUNDLE``/``$SSL_CERT_FILE`` or the system store are used.
    """

    @classmethod
    def from_params(cls, params: Dict[str, Any]) -> Any:
        """A client from a module's connection options (``hostname``, ``username``, ``password``, ``port``,
        ``validate_certs``, ``ca_path``, ``proxy_host``, ``proxy_port``, ``session_cache*``: see
        ``_argspec.connection_argument_spec``)."""
        return cls(params.get("hostname"), params.get("username"), params.get("password"),
                   port=params.get("port") or 443, validate_certs=params.get("validate_certs", True),
                   ca_path=params.get("ca_path"), proxy_host=params.get("proxy_host"),
                   proxy_port=params.get("proxy_port"), session_cache=cache_from_params(params))

    def __init__(self, hostname: Optional[str], username: Optional[str], password: Optional[str], port: int = 443, validate_certs: bool = True,
                 ca_path: Optional[str] = None,
                 timeout: int = DEFAULT_TIMEOUT, long_timeout: int = DEFAULT_LONG_TIMEOUT, connect: bool = True,
                 proxy_host: Optional[str] = None,
                 proxy_port: Optional[int] = None, session_cache: Optional[SessionCache] = None) -> None:
        require_pyvmomi()
        if not hostname:
            raise InputError("hostname is required to connect to vCenter/ESXi")
        self.hostname = str(hostname)
        self.port = int(port or 443)
        self.username = username or ""
        self._password = password
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path
        # HTTP proxy (CONNECT tunnel) for every request to this endpoint; TLS still ends at vCenter/ESXi.
        self.proxy_host = str(proxy_host) if proxy_host else None
        self.proxy_port = int(proxy_port or 80)
        self.timeout = float(timeout)
        self.long_timeout = float(long_timeout)
        self._ssl_context = build_ssl_context(self.validate_certs, ca_path)
        self._si = None
        self._stub = None
        self._content = None
        self._about = None
        self._inventory = None
        self._atexit = False
        self._esxcli: Any = None
        self._session_id: Optional[str] = None
        self.session_cache = session_cache
        self.session_reused = False      # the current session came from the cache
        self.logins = 0                  # logins this client made (not counting reused sessions)
        self.reconnects = 0
        self.generation = 0      # increments at every login; caches keyed on it die with the session
        if connect:
            self.connect()

    # ---- identity ------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return endpoint_label(self.hostname, self.port)

    @property
    def proxies(self) -> Optional[Dict[str, str]]:
        """``requests`` proxies for HTTP calls to this endpoint (datastore ``/folder``), or None."""
        if not self.proxy_host:
            return None
        url = "http://%s" % endpoint_label(self.proxy_host, self.proxy_port)
        return {"http": url, "https": url}

    @property
    def secrets(self) -> List[str]:  # type: ignore[override]  # a mixin may declare it as a plain attribute
        return [s for s in (self._password, self._session_id) if s]

    @property
    def connected(self) -> bool:
        return self._si is not None

    @property
    def is_vcenter(self) -> bool:
        return bool(self._about and self._about.get("api_type") == "VirtualCenter")

    @property
    def about(self) -> Dict[str, Any]:
        """{name, full_name, version, build, api_type, api_version, product_line, instance_uuid, vendor}."""
        return dict(self._about or {})

    @property
    def session_cookie(self) -> str:
        """``vmware_soap_session=...`` for HTTP calls on the same session (datastore ``/folder``)."""
        self._ensure()
        raw = self._stub.cookie or ""
        m = re.search(r'vmware_soap_session=("[^"]*"|[^;\s]*)', raw)   # sent back exactly as issued
        return m.group(0) if m else raw.split(";", 1)[0]

    def _err(self, exc: Any, action: str, host: Optional[str] = None, in_task: bool = False) -> FleetpatchError:
        return translate(exc, host=host or self.endpoint, action=action, secrets=self.secrets,
                         endpoint=self.endpoint, in_task=in_task)

    # ---- connection ----------------------------------------------------------------------------
    def _probe_version(self, timeout: float) -> str:
        """GET /sdk/vimServiceVersions.xml with a hard timeout; return the best pyVmomi version both support."""
        if self.proxy_host:
            conn = http.client.HTTPSConnection(self.proxy_host, self.proxy_port, context=self._ssl_context,
                                               timeout=timeout)
            conn.set_tunnel(self.hostname, self.port)
        else:
            conn = http.client.HTTPSConnection(self.hostname, self.port, context=self._ssl_context, timeout=timeout)
        try:
            conn.request("GET", "/sdk/vimServiceVersions.xml")
            resp = conn.getresponse()
            body = resp.read(1024 * 1024)
            status = resp.status
        except Exception as exc:
            raise self._err(exc, "connect")
        finally:
            conn.close()
        if status != 200:
            raise ConnectionFailedError("connect failed: %s does not look like vCenter or ESXi "
                                        "(GET /sdk/vimServiceVersions.xml answered HTTP %s)" % (self.endpoint, status),
                                        host=self.endpoint, http_status=status)
        ids = _parse_service_versions(body)
        for version in VmomiSupport.GetServiceVersions("vim25"):
            if VmomiSupport.versionIdMap.get(version) in ids:
                return version
        raise ConnectionFailedError("connect failed: no API version in common with the server (server offers %s)"
                                    % (", ".join(sorted(ids)) or "none"), host=self.endpoint)

    def connect(self) -> Any:
        """Open the session (probe, TLS, login). Idempotent."""
        if self._si is not None:
            return self
        self._open(self.timeout)
        return self

    def _bare(self, timeout: float) -> Any:
        """A stub and the service content, not logged in yet (probe, TLS)."""
        version = self._probe_version(timeout)
        proxy: Dict[Any, Any] = {"httpProxyHost": self.proxy_host, "httpProxyPort": self.proxy_port} if self.proxy_host else {}
        stub = SoapStubAdapter(host=self.hostname, port=self.port, version=version, sslContext=self._ssl_context,
                               httpConnectionTimeout=timeout, **proxy)
        si = vim.ServiceInstance("ServiceInstance", stub)
        try:
            content = si.RetrieveContent()
        except Exception as exc:
            stub.DropConnections()
            raise self._err(exc, "connect")
        return stub, si, content

    @staticmethod
    def _stub_session(stub: Any, session_id: Optional[str] = None, set_it: bool = False) -> Optional[str]:
        """Read (or with ``set_it`` replace) the ``vmware_soap_session`` the stub sends."""
        if set_it:
            if hasattr(stub, "SetSessionId"):
                stub.SetSessionId(session_id)
            else:  # pragma: no cover - older pyVmomi
                stub.cookie = 'vmware_soap_session="%s"' % session_id if session_id else ""
            return session_id
        sid = stub.GetSessionId() if hasattr(stub, "GetSessionId") else None
        if not sid:
            m = re.search(r'vmware_soap_session="?([^";\s]*)', stub.cookie or "")
            sid = m.group(1) if m else None
        return sid or None

    def _login(self, stub: Any, content: Any) -> str:
        self._stub_session(stub, None, set_it=True)
        try:
            content.sessionManager.Login(userName=self.username, password=self._password or "",  # type: ignore[union-attr]
                                         locale=None)
        except Exception as exc:
            stub.DropConnections()
            raise self._err(exc, "login as %s" % self.username)
        self.logins += 1
        sid = self._stub_session(stub) or ""
        register_secret(sid)
        return sid

    def _adopt(self, stub: Any, content: Any, session_id: str) -> bool:
        """Put a cached session on the stub; True when the server still knows it."""
        self._stub_session(stub, session_id, set_it=True)
        try:
            return content.sessionManager.currentSession is not None
        except Exception:
            return False

    def _end(self, stub: Any, content: Any, session_id: str) -> None:
        """Log out a (cached) session."""
        self._stub_session(stub, session_id, set_it=True)
        try:
            content.sessionManager.Logout()
        finally:
            self._stub_session(stub, None, set_it=True)

    def _open(self, timeout: float) -> None:
        stub, si, content = self._bare(timeout)
        cache = self.session_cache
        if cache is not None:
            key = cache.key("soap", self.endpoint, self.username, self._password)
            sid, self.session_reused = cache.obtain(key, lambda: self._login(stub, content),
                                                    alive=lambda old: self._adopt(stub, content, old),
                                                    logout=lambda old: self._end(stub, content, old))
        else:
            sid, self.session_reused = self._login(stub, content), False
        self._session_id = sid or None
        stub.schemeArgs["timeout"] = self.timeout
        self._si, self._stub, self._content = si, stub, content
        self.generation += 1
        if not self._atexit:       # log out at interpreter exit unless close() ran first
            atexit.register(self.close)
            self._atexit = True
        about = content.about
        self._about = {
            "name": about.name, "full_name": about.fullName, "vendor": about.vendor, "version": about.version,
            "build": about.build, "api_type": about.apiType, "api_version": about.apiVersion,
            "product_line": about.productLineId, "instance_uuid": getattr(about, "instanceUuid", None),
        }
        self._inventory = None

    def _drop(self) -> None:
        """Forget the session without logging out (it is gone already)."""
        if self._stub is not None:
            try:
                self._stub.DropConnections()
            except Exception:
                pass
        self._si = self._stub = self._content = None
        self._session_id = None
        self._inventory = None

    def reconnect(self, timeout: Optional[Any] = None) -> Any:
        """Drop the current session and log in again (after a host restart). Host handles stay valid."""
        self._drop()
        self._open(timeout or self.timeout)
        self.reconnects += 1
        return self

    def session_alive(self) -> bool:
        """True when the current session still answers (``SessionManager.currentSession``)."""
        if self._si is None:
            return False
        try:
            return self._content.sessionManager.currentSession is not None
        except Exception:
            return False

    def ensure_session(self, timeout: Optional[Union[float, int]] = None) -> bool:
        """Make sure the session works; when it was lost (host restarted, connection dropped) log in again with
        backoff for up to ``timeout`` seconds. Returns True if it had to log in again. Host handles stay valid."""
        if self.session_alive():
            return False
        deadline = time.monotonic() + float(timeout if timeout is not None else self.timeout)
        last: List[VSphereError] = []

        def probe() -> Optional[bool]:
            self._drop()
            try:
                self._open(max(1.0, min(self.timeout, deadline - time.monotonic())))
            except AuthenticationError:
                raise
            except VSphereError as exc:
                last[:] = [exc]
                return None
            self.reconnects += 1
            return True

        def timed_out() -> ConnectionFailedError:
            err = last[0]
            kwargs: Dict[str, Any] = dict(err.details)   # the flags are mirrored in details
            return ConnectionFailedError("could not log in again in time; last error: %s" % err.msg,
                                         host=self.endpoint, **kwargs)

        return poll_until(deadline, backoff_delays(initial=0.5, maximum=5.0), probe, timed_out)

    def wait_connected(self, host: Any, timeout: float = 600, poll_max: float = 5.0) -> Dict[str, Any]:
        """Wait until ``host`` answers again (after an outage): via vCenter until its connectionState is
        ``connected``, on ESXi until a new session works. Returns the host facts. ``HostNotConnectedError`` on
        timeout, naming the last state."""
        host = self.host(host)
        deadline = time.monotonic() + float(timeout)
        last = ["unknown"]

        def probe() -> Optional[Dict[str, Any]]:
            try:
                if not self.is_vcenter:
                    self.ensure_session(timeout=max(1.0, deadline - time.monotonic()))
                facts = self.host_facts(host)
            except AuthenticationError:
                raise
            except VSphereError as exc:
                last[0] = "unreachable (%s)" % exc.msg
                if self.is_vcenter and self._is_dead_session(exc):
                    self._try_reconnect(deadline)
                return None
            last[0] = facts["connection_state"]
            return facts if last[0] == "connected" else None

        return poll_until(deadline, backoff_delays(initial=0.3, maximum=poll_max), probe,
                          lambda: HostNotConnectedError("the host did not come back within %ss; last known state: "
                                                        "%s" % (timeout, last[0]), host=host.label,
                                                        last_state=last[0]))

    def logout(self) -> bool:
        """End the session now, whether it came from the cache or not, and the cached one of this endpoint, user
        and password (``vmware_session`` state absent); forget the cache entry. True when there was a session.
        An unreachable server raises (the entry is kept for a later try)."""
        cache = self.session_cache
        key = cache.key("soap", self.endpoint, self.username, self._password) if cache is not None else None
        cached = cache.peek(key) if cache is not None and key is not None else None
        ids = [sid for sid in (self._session_id if self._si is not None else None, cached) if sid]
        if ids:
            stub, content = self._stub, self._content
            if stub is None:
                stub, _si, content = self._bare(self.timeout)
            for sid in dict.fromkeys(ids):
                try:
                    self._end(stub, content, sid)
                except Exception:  # a session the server no longer knows is logged out too
                    pass
            if stub is not self._stub:
                stub.DropConnections()
        if cache is not None and key is not None and cached:
            cache.discard(key, cached)
        self._drop()
        self.close()
        return bool(ids)

    def close(self) -> None:
        """Log out (unless the session is cached for the next run) and release the connections. Safe to call
        twice; never raises."""
        if self._si is not None and self.session_cache is None:
            try:
                with self.request_timeout(min(self.timeout, 10)):
                    self._content.sessionManager.Logout()
            except Exception:
                pass
        self._drop()
        if self._atexit:
            try:
                atexit.unregister(self.close)
            except Exception:
                pass
            self._atexit = False

    def __enter__(self) -> Any:
        return self.connect()

    def __exit__(self, *exc: Any) -> Literal[False]:
        self.close()
        return False

    def _ensure(self) -> None:
        if self._si is None:
            raise ConnectionFailedError("not connected (the session was closed or lost)", host=self.endpoint)

    @contextlib.contextmanager
    def request_timeout(self, seconds: Optional[Union[float, int]]) -> Iterator[None]:
        """Temporarily use another socket timeout for the requests made in the block."""
        if seconds is None or self._stub is None:
            yield
            return
        stub = self._stub
        old = stub.schemeArgs.get("timeout")
        stub.schemeArgs["timeout"] = float(seconds)
        stub.DropConnections()
        try:
            yield
        finally:
            if old is None:
                stub.schemeArgs.pop("timeout", None)
            else:
                stub.schemeArgs["timeout"] = old
            stub.DropConnections()

    # ---- generic call helpers --------------------------------------------------------------------
    def _call(self, host: Host, action: str, fn: Callable, *args, **kwargs) -> Optional[Union[datetime, str]]:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise self._err(exc, action, host=host.label)

    def _run_task(self, host: Host, action: str, start: Callable[[], Any], timeout: float,
                  secrets: Any = ()) -> Any:
        try:
            task = start()
        except Exception as exc:
            raise translate(exc, host=host.label, action=action, secrets=list(self.secrets) + list(secrets),
                            endpoint=self.endpoint)
        return wait_for_task(task, timeout=timeout, host=host.label, action=action,
                             secrets=list(self.secrets) + list(secrets), endpoint=self.endpoint,
                             collector=self._content.propertyCollector)

    def _mo(self, vim_type, moid):
        self._ensure()
        return vim_type(moid, self._stub)


__all__ = ["VSphereClient", "Host", "HAS_PYVMOMI", "PYVMOMI_IMPORT_ERROR", "build_ssl_context", "parse_xml_result",
           "map_relation", "package_record_to_vib", "package_record_dict", "patch_status_dict", "datastore_uuid",
           "VSAN_MODES"]
