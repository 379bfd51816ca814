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
import datetime
import http.client
import os
import re
import ssl
import time
import xml.etree.ElementTree as ET

from ansible_collections.fleetpatch.esxi.plugins.module_utils._errors import (
    AuthenticationError, ConnectionFailedError, FleetpatchError, HostNotConnectedError, InputError, NotFoundError,
    RebootTimeoutError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._models import (
    ACCEPTANCE_API_NAMES, Payload, Provide, Relation, Vib, normalize_acceptance)
from ansible_collections.fleetpatch.esxi.plugins.module_utils.clients._tasks import (  # noqa: F401 (re-exports)
    HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR, backoff_delays, endpoint_label, redact, require_pyvmomi, translate, vim, vmodl,
    wait_for_task)

if HAS_PYVMOMI:
    from pyVmomi import SoapStubAdapter, VmomiSupport
else:  # pragma: no cover
    SoapStubAdapter = VmomiSupport = None

DEFAULT_TIMEOUT = 60          # seconds: TCP connect, TLS, login and each ordinary SOAP request
DEFAULT_LONG_TIMEOUT = 1800   # seconds: synchronous long calls (esxcli software vib install ...)
VSAN_MODES = ("noAction", "ensureObjectAccessibility", "evacuateAllData")
RELATION_MAP = {"equals": "=", "lessThan": "<<", "lessThanEqual": "<=", "greaterThanEqual": ">=",
                "greaterThan": ">>"}
_API_ACCEPTANCE = {v: k for k, v in ACCEPTANCE_API_NAMES.items()}
API_VIB_TYPES = {"tools": "locker"}     # SoftwarePackage.type enum (bootbank|tools|meta) -> VIB type
EVENTS_MAX = 1000             # host_events: most events returned (EventFilterSpec.maxCount limit)
EVENTS_MAX_DEFAULT = 100
EVENTS_PAGE = 100             # ReadNextEvents page size


# ==== pure helpers ================================================================================

def iso(value):
    """datetime -> ISO 8601 string (UTC offset kept); anything else unchanged; None stays None."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def map_relation(constraint):
    """API enum (``equals``/``lessThan``/...) -> VIB relation (``=``/``<<``/...); already-mapped values pass."""
    if constraint is None or constraint == "":
        return None
    if constraint in RELATION_MAP:
        return RELATION_MAP[constraint]
    if constraint in ("<<", "<=", "=", ">=", ">>"):
        return constraint
    raise ValueError("unknown relation constraint %r" % (constraint,))


def normalize_api_acceptance(level):
    """``vmware_certified`` -> ``certified`` (also esxcli spellings); unknown values are returned unchanged."""
    if level is None:
        return None
    try:
        return normalize_acceptance(level)
    except ValueError:
        return str(level)


def api_acceptance_name(level):
    """Our name or any alias -> the ImageConfigManager spelling (``vmware_certified`` ...). InputError if unknown."""
    try:
        return ACCEPTANCE_API_NAMES[normalize_acceptance(level)]
    except ValueError as exc:
        raise InputError(str(exc))


def _relations(items):
    out = []
    for r in items or ():
        name = r.get("name") if isinstance(r, dict) else r
        if not name:
            continue
        rel = map_relation(r.get("constraint")) if isinstance(r, dict) else None
        ver = (r.get("version") or None) if isinstance(r, dict) else None
        out.append(Relation(name, rel if ver else None, ver))
    return tuple(out)


def _provide(text):
    text = (text or "").strip()
    m = re.match(r"^(\S+)\s*=\s*(\S+)$", text)
    return Provide(m.group(1), m.group(2)) if m else Provide(text)


def package_record_to_vib(rec):
    """A ``SoftwarePackage`` as a plain dict (API field names, see ``package_record``) -> ``_models.Vib``.

    ``id`` is ``vendor_type_name_version`` (API type ``tools`` is the VIB type ``locker``); the acceptance level
    is normalized; relation constraints map
    from the API enum to ``=``/``<<``/``<=``/``>=``/``>>``; ``release_date`` is the package creation date."""
    cap = rec.get("capability") or {}
    # the API's VibType enum says "tools" where the VIB itself (and its id) says "locker"
    vib_type = API_VIB_TYPES.get(rec.get("type"), rec.get("type")) or "bootbank"
    name, version, vendor = rec.get("name") or "", rec.get("version") or "", rec.get("vendor") or ""
    return Vib(
        id=Vib.make_id(vendor, vib_type, name, version), name=name, version=version, vendor=vendor, type=vib_type,
        acceptance_level=normalize_api_acceptance(rec.get("acceptanceLevel")) or "community",
        summary=rec.get("summary") or "", description=rec.get("description") or "",
        release_date=iso(rec.get("creationDate")),
        depends=_relations(rec.get("depends")), conflicts=_relations(rec.get("conflicts")),
        replaces=_relations(rec.get("replaces")),
        provides=tuple(_provide(p) for p in rec.get("provides") or () if p),
        maintenance_mode_required=bool(rec.get("maintenanceModeRequired"))
        if rec.get("maintenanceModeRequired") is not None else True,
        live_install_allowed=bool(cap.get("liveInstallAllowed")),
        live_remove_allowed=bool(cap.get("liveRemoveAllowed")),
        stateless_ready=bool(cap.get("statelessReady")), overlay=bool(cap.get("overlay")),
        hw_platforms=tuple({"vendor": x} for x in rec.get("hardwarePlatformsRequired") or () if x),
        payloads=tuple(Payload(name=p, type="") for p in rec.get("payload") or () if p),
        tags=tuple(rec.get("tag") or ()),
    )


def package_record_dict(rec):
    """``Vib.to_dict()`` of the package plus ``creation_date`` and ``reference_urls``."""
    d = package_record_to_vib(rec).to_dict()
    d["creation_date"] = iso(rec.get("creationDate"))
    d["reference_urls"] = list(rec.get("referenceURL") or ())
    d["hw_platforms"] = list(rec.get("hardwarePlatformsRequired") or ())
    return d


def patch_status_dict(st):
    """A ``HostPatchManager.Status`` (object or dict with API names) -> our snake_case dict."""
    g = (lambda k, d=None: st.get(k, d)) if isinstance(st, dict) else (lambda k, d=None: getattr(st, k, d))
    prereq = []
    for p in g("prerequisitePatch") or ():
        pg = (lambda k, d=None: p.get(k, d)) if isinstance(p, dict) else (lambda k, d=None: getattr(p, k, d))
        prereq.append({"id": pg("id"), "install_state": list(pg("installState") or ())})
    return {
        "id": g("id"), "applicable": bool(g("applicable")), "installed": bool(g("installed")),
        "reason": list(g("reason") or ()), "integrity": g("integrity"),
        "install_state": list(g("installState") or ()),
        "restart_required": bool(g("restartRequired")), "reconnect_required": bool(g("reconnectRequired")),
        "vm_off_required": bool(g("vmOffRequired")),
        "superseded_patch_ids": list(g("supersededPatchIds") or ()), "prerequisite_patch": prereq,
    }


def _xlocal(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _xml_children_dict(el):
    out = {}
    for c in el:
        key = _xlocal(c.tag)
        val = _xml_children_dict(c) if len(c) else (c.text or "").strip()
        if key in out:
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(val)
        else:
            out[key] = val
    return out


def _first_text(el, names):
    for name in names:
        if el.get(name):
            return el.get(name)
    for c in el.iter():
        if c is not el and _xlocal(c.tag) in names and c.text and c.text.strip():
            return c.text.strip()
    return None


def _ids_under(el):
    return [(c.text or "").strip() for c in el.iter() if c is not el and not len(c) and (c.text or "").strip()]


def parse_xml_result(text):
    """Summarize a PatchManager ``xmlResult`` without trusting a schema (the real one is UNVERIFIED).

    Returns ``{root, errors: [{error_class, message, url, fields}], messages: [...], vibs: [{...}],
    added_vibs, removed_vibs, skipped_vibs, reboot_required: bool|None, parse_error}``:

    - ``error`` elements anywhere (``errorClass`` as attribute or child; message from
      ``msg``/``errorMsg``/``errorDesc``/``message``/``description``);
    - ``message``/``msg`` elements outside errors;
    - ``vib-scan-data`` records (rbvmomi reads ``//vib-scan-data//id``) as dicts of their children;
    - ids under ``addedVibs``/``removedVibs``/``skippedVibs`` (or ``vib-installed``/``vib-removed``...);
    - ``rebootRequired``/``reboot-required`` outside ``vib-scan-data`` (the operation's, not a VIB's).

    Unknown elements are ignored; DTDs, entities and malformed XML give ``parse_error`` and empty lists, never
    an exception."""
    out = {"root": None, "errors": [], "messages": [], "vibs": [], "added_vibs": [], "removed_vibs": [],
           "skipped_vibs": [], "reboot_required": None, "parse_error": None}
    if text is None or not str(text).strip():
        return out
    text = str(text)
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        out["parse_error"] = "refused: the document declares a DTD or entities"
        return out
    if len(text) > 64 * 1024 * 1024:
        out["parse_error"] = "refused: document too large"
        return out
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        out["parse_error"] = "not well-formed XML (%s)" % exc
        return out
    out["root"] = _xlocal(root.tag)
    in_error, in_vib = set(), set()
    lists = {"addedvibs": "added_vibs", "vib-installed": "added_vibs", "vibs-installed": "added_vibs",
             "removedvibs": "removed_vibs", "vib-removed": "removed_vibs", "vibs-removed": "removed_vibs",
             "skippedvibs": "skipped_vibs", "vib-skipped": "skipped_vibs", "vibs-skipped": "skipped_vibs"}
    for el in root.iter():
        low = _xlocal(el.tag).lower()
        if low == "error":
            in_error.update(el.iter())
            out["errors"].append({
                "error_class": el.get("errorClass") or _first_text(el, ("errorClass", "class", "type")),
                "message": _first_text(el, ("msg", "errorMsg", "errorDesc", "message", "description")) or
                (el.text or "").strip() or None,
                "url": _first_text(el, ("url",)),
                "fields": _xml_children_dict(el),
            })
        elif low == "vib-scan-data":
            in_vib.update(el.iter())
            out["vibs"].append(_xml_children_dict(el))
        elif low in lists and el not in in_vib:
            ids = _ids_under(el) if len(el) else [(el.text or "").strip()]
            out[lists[low]].extend(i for i in ids if i and i not in out[lists[low]])
    for el in root.iter():
        if el in in_error or el in in_vib:
            continue
        low = _xlocal(el.tag).lower()
        txt = (el.text or "").strip()
        if low in ("message", "msg") and txt:
            out["messages"].append(txt)
        elif low in ("reboot-required", "rebootrequired", "reboot_required") and \
                txt.lower() in ("true", "1", "false", "0"):
            out["reboot_required"] = bool(out["reboot_required"]) or txt.lower() in ("true", "1")
    return out


def datastore_uuid(url):
    """``ds:///vmfs/volumes/<uuid>/`` -> ``<uuid>``; None when the URL has another form."""
    m = re.match(r"^ds:///vmfs/volumes/([^/]+)/?", url or "")
    return m.group(1) if m else None


def build_ssl_context(validate_certs=True, ca_path=None):
    """TLS context: verifying (system CAs, or only ``ca_path`` / ``$REQUESTS_CA_BUNDLE`` when set; OpenSSL also
    honours ``$SSL_CERT_FILE``) or, with ``validate_certs=False``, not verifying at all."""
    if not validate_certs:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ca = ca_path or os.environ.get("REQUESTS_CA_BUNDLE") or None
    try:
        if ca and os.path.isdir(ca):
            return ssl.create_default_context(capath=ca)
        return ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise InputError("cannot load the CA bundle %s: %s" % (ca, exc))


def _parse_service_versions(data):
    """vimServiceVersions.xml -> set of supported version ids (``8.0.3.0``, prior versions too)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        return set()
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return set()
    ids = set()
    for ns in root.iter("namespace"):
        if (ns.findtext("name") or "urn:vim25") != "urn:vim25":
            continue
        if ns.findtext("version"):
            ids.add(ns.findtext("version").strip())
        for v in ns.iter("version"):
            if v.text:
                ids.add(v.text.strip())
    return ids


# ==== host handle ================================================================================

class Host(object):
    """A host of the client's inventory: ``name``, ``moid``. ``label`` names it in messages (the host name via
    vCenter, ``hostname:port`` on ESXi directly)."""

    __slots__ = ("client", "name", "moid")

    def __init__(self, client, name, moid):
        self.client = client
        self.name = name
        self.moid = moid

    @property
    def _mo(self):
        self.client._ensure()
        return vim.HostSystem(self.moid, self.client._stub)

    @property
    def label(self):
        if self.client.is_vcenter:
            return self.name
        return self.client.endpoint

    def to_dict(self):
        return {"name": self.name, "moid": self.moid}

    def __repr__(self):
        return "Host(%r, %r)" % (self.name, self.moid)

    def __eq__(self, other):
        return isinstance(other, Host) and other.moid == self.moid and other.client is self.client

    def __hash__(self):
        return hash((id(self.client), self.moid))


# ==== the client =================================================================================

class VSphereClient(object):
    """One SOAP session to vCenter or ESXi. Connects on construction; ``close()`` (also via ``with`` and at
    interpreter exit) logs out.

    ``timeout`` bounds connecting, logging in and each ordinary request; ``long_timeout`` bounds synchronous
    long calls (esxcli installs). ``ca_path`` is a PEM CA bundle (file or directory) for private CAs; without
    it ``$REQUESTS_CA_BUNDLE``/``$SSL_CERT_FILE`` or the system store are used.
    """

    @classmethod
    def from_params(cls, params):
        """A client from a module's connection options (``hostname``, ``username``, ``password``, ``port``,
        ``validate_certs``, ``ca_path``: see ``_argspec.connection_argument_spec``)."""
        return cls(params.get("hostname"), params.get("username"), params.get("password"),
                   port=params.get("port") or 443, validate_certs=params.get("validate_certs", True),
                   ca_path=params.get("ca_path"))

    def __init__(self, hostname, username, password, port=443, validate_certs=True, ca_path=None,
                 timeout=DEFAULT_TIMEOUT, long_timeout=DEFAULT_LONG_TIMEOUT, connect=True):
        require_pyvmomi()
        if not hostname:
            raise InputError("hostname is required to connect to vCenter/ESXi")
        self.hostname = str(hostname)
        self.port = int(port or 443)
        self.username = username
        self._password = password
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path
        self.timeout = float(timeout)
        self.long_timeout = float(long_timeout)
        self._ssl_context = build_ssl_context(self.validate_certs, ca_path)
        self._si = None
        self._stub = None
        self._content = None
        self._about = None
        self._inventory = None
        self._atexit = False
        self._esxcli = None
        self.reconnects = 0
        self.generation = 0      # increments at every login; caches keyed on it die with the session
        if connect:
            self.connect()

    # ---- identity ------------------------------------------------------------------------------
    @property
    def endpoint(self):
        return endpoint_label(self.hostname, self.port)

    @property
    def secrets(self):
        return [self._password] if self._password else []

    @property
    def connected(self):
        return self._si is not None

    @property
    def is_vcenter(self):
        return bool(self._about and self._about.get("api_type") == "VirtualCenter")

    @property
    def about(self):
        """{name, full_name, version, build, api_type, api_version, product_line, instance_uuid, vendor}."""
        return dict(self._about or {})

    @property
    def session_cookie(self):
        """``vmware_soap_session=...`` for HTTP calls on the same session (datastore ``/folder``)."""
        self._ensure()
        raw = self._stub.cookie or ""
        m = re.search(r'vmware_soap_session=("[^"]*"|[^;\s]*)', raw)   # sent back exactly as issued
        return m.group(0) if m else raw.split(";", 1)[0]

    def _err(self, exc, action, host=None, in_task=False):
        return translate(exc, host=host or self.endpoint, action=action, secrets=self.secrets,
                         endpoint=self.endpoint, in_task=in_task)

    # ---- connection ----------------------------------------------------------------------------
    def _probe_version(self, timeout):
        """GET /sdk/vimServiceVersions.xml with a hard timeout; return the best pyVmomi version both support."""
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

    def connect(self):
        """Open the session (probe, TLS, login). Idempotent."""
        if self._si is not None:
            return self
        self._open(self.timeout)
        return self

    def _open(self, timeout):
        version = self._probe_version(timeout)
        stub = SoapStubAdapter(host=self.hostname, port=self.port, version=version, sslContext=self._ssl_context,
                               httpConnectionTimeout=timeout)
        si = vim.ServiceInstance("ServiceInstance", stub)
        try:
            content = si.RetrieveContent()
        except Exception as exc:
            stub.DropConnections()
            raise self._err(exc, "connect")
        try:
            content.sessionManager.Login(userName=self.username, password=self._password, locale=None)
        except Exception as exc:
            stub.DropConnections()
            err = self._err(exc, "login as %s" % self.username)
            raise err
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

    def _drop(self):
        """Forget the session without logging out (it is gone already)."""
        if self._stub is not None:
            try:
                self._stub.DropConnections()
            except Exception:
                pass
        self._si = self._stub = self._content = None
        self._inventory = None

    def reconnect(self, timeout=None):
        """Drop the current session and log in again (after a host restart). Host handles stay valid."""
        self._drop()
        self._open(timeout or self.timeout)
        self.reconnects += 1
        return self

    def session_alive(self):
        """True when the current session still answers (``SessionManager.currentSession``)."""
        if self._si is None:
            return False
        try:
            return self._content.sessionManager.currentSession is not None
        except Exception:
            return False

    def ensure_session(self, timeout=None):
        """Make sure the session works; when it was lost (host restarted, connection dropped) log in again with
        backoff for up to ``timeout`` seconds. Returns True if it had to log in again. Host handles stay valid."""
        if self.session_alive():
            return False
        deadline = time.monotonic() + float(timeout if timeout is not None else self.timeout)
        delays = backoff_delays(initial=0.5, maximum=5.0)
        while True:
            self._drop()
            try:
                self._open(max(1.0, min(self.timeout, deadline - time.monotonic())))
                self.reconnects += 1
                return True
            except AuthenticationError:
                raise
            except VSphereError as exc:
                last = exc
            now = time.monotonic()
            if now >= deadline:
                raise ConnectionFailedError("could not log in again in time; last error: %s" % last.msg,
                                            host=self.endpoint, **last.details)
            time.sleep(min(next(delays), max(0.0, deadline - now)))

    def wait_connected(self, host, timeout=600, poll_max=5.0):
        """Wait until ``host`` answers again (after an outage): via vCenter until its connectionState is
        ``connected``, on ESXi until a new session works. Returns the host facts. ``HostNotConnectedError`` on
        timeout, naming the last state."""
        host = self.host(host)
        deadline = time.monotonic() + float(timeout)
        delays = backoff_delays(initial=0.3, maximum=poll_max)
        last = "unknown"
        while True:
            try:
                if not self.is_vcenter:
                    self.ensure_session(timeout=max(1.0, deadline - time.monotonic()))
                facts = self.host_facts(host)
                last = facts["connection_state"]
                if last == "connected":
                    return facts
            except AuthenticationError:
                raise
            except VSphereError as exc:
                last = "unreachable (%s)" % exc.msg
                if self.is_vcenter and self._is_dead_session(exc):
                    self._try_reconnect(deadline)
            now = time.monotonic()
            if now >= deadline:
                raise HostNotConnectedError("the host did not come back within %ss; last known state: %s"
                                            % (timeout, last), host=host.label, last_state=last)
            time.sleep(min(next(delays), max(0.0, deadline - now)))

    def close(self):
        """Log out and release the connections. Safe to call twice; never raises."""
        if self._si is not None:
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

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()
        return False

    def _ensure(self):
        if self._si is None:
            raise ConnectionFailedError("not connected (the session was closed or lost)", host=self.endpoint)

    @contextlib.contextmanager
    def request_timeout(self, seconds):
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

    # ---- property collector ----------------------------------------------------------------------
    def _retrieve(self, specs, objects=None, container=None):
        """RetrievePropertiesEx. ``specs``: [(vim type, [paths])]; ``objects`` list or ``container`` view.
        Returns [(managed object, {path: value})]. Missing properties are left out."""
        self._ensure()
        pc = self._content.propertyCollector
        prop_specs = [vmodl.query.PropertyCollector.PropertySpec(type=t, pathSet=list(paths), all=False)
                      for t, paths in specs]
        if container is not None:
            trav = vmodl.query.PropertyCollector.TraversalSpec(name="view", path="view", skip=False,
                                                               type=vim.view.ContainerView)
            obj_specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=container, skip=True, selectSet=[trav])]
        else:
            obj_specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=o, skip=False) for o in objects]
        fspec = vmodl.query.PropertyCollector.FilterSpec(objectSet=obj_specs, propSet=prop_specs,
                                                         reportMissingObjectsInResults=False)
        out = []
        result = pc.RetrievePropertiesEx(specSet=[fspec], options=vmodl.query.PropertyCollector.RetrieveOptions())
        while result is not None:
            for oc in result.objects or ():
                out.append((oc.obj, {p.name: p.val for p in oc.propSet or ()}))
            if not result.token:
                break
            result = pc.ContinueRetrievePropertiesEx(token=result.token)
        return out

    def _host_props(self, host, paths, action):
        try:
            res = self._retrieve([(vim.HostSystem, paths)], objects=[host._mo])
        except Exception as exc:
            raise self._err(exc, action, host=host.label)
        if not res:
            raise NotFoundError("host %s (%s) no longer exists" % (host.name, host.moid), host=host.label)
        return res[0][1]

    # ---- inventory ---------------------------------------------------------------------------------
    def _load_inventory(self):
        if self._inventory is not None:
            return self._inventory
        self._ensure()
        vm = self._content.viewManager
        try:
            view = vm.CreateContainerView(self._content.rootFolder,
                                          [vim.HostSystem, vim.ComputeResource, vim.Datacenter, vim.Folder], True)
            try:
                rows = self._retrieve([(vim.HostSystem, ["name", "parent"]), (vim.ComputeResource, ["name", "parent"]),
                                       (vim.Datacenter, ["name", "parent"]), (vim.Folder, ["name", "parent"])],
                                      container=view)
            finally:
                try:
                    view.DestroyView()
                except Exception:
                    pass
        except FleetpatchError:
            raise
        except Exception as exc:
            raise self._err(exc, "read the inventory")
        nodes = {}
        for obj, props in rows:
            parent = props.get("parent")
            nodes[obj._moId] = {"obj": obj, "kind": type(obj).__name__.split(".")[-1], "name": props.get("name"),
                                "parent": parent._moId if parent is not None else None}
        hosts = []
        for moid, n in nodes.items():
            if n["kind"] != "HostSystem":
                continue
            cluster = datacenter = dc_moid = None
            dc_path = []
            p = nodes.get(n["parent"])
            if p is not None and p["kind"] == "ClusterComputeResource":
                cluster = p["name"]
            seen = 0
            while p is not None and seen < 64:
                seen += 1
                if p["kind"] == "Datacenter":
                    datacenter, dc_moid = p["name"], p["obj"]._moId
                    q = nodes.get(p["parent"])
                    while q is not None and q["parent"] is not None:   # folders up to (excluding) the root
                        dc_path.insert(0, q["name"])
                        q = nodes.get(q["parent"])
                    break
                p = nodes.get(p["parent"])
            hosts.append({"name": n["name"], "moid": moid, "cluster": cluster, "datacenter": datacenter,
                          "datacenter_moid": dc_moid,
                          "datacenter_path": "/".join(dc_path + [datacenter]) if datacenter else None})
        hosts.sort(key=lambda h: (h["name"] or "", h["moid"]))
        datacenters = sorted({(n["name"], n["obj"]._moId) for n in nodes.values() if n["kind"] == "Datacenter"})
        clusters = sorted({n["name"] for n in nodes.values() if n["kind"] == "ClusterComputeResource"})
        self._inventory = {"hosts": hosts, "datacenters": datacenters, "clusters": clusters, "nodes": nodes}
        return self._inventory

    def refresh_inventory(self):
        self._inventory = None
        return self._load_inventory()

    def _host_record(self, moid):
        for h in self._load_inventory()["hosts"]:
            if h["moid"] == moid:
                return h
        return None

    def find_targets(self, names=None, cluster=None, datacenter=None):
        """``find_hosts`` for a module's target options (``esxi_hostname``, ``cluster_name``, ``datacenter``).

        Through vCenter one of them is required, so that a task never acts on every host by accident; no match
        at all is a ``NotFoundError``."""
        names = list(names or []) or None
        if self.is_vcenter and not (names or cluster or datacenter):
            raise InputError("connected to vCenter: name the target hosts with esxi_hostname, cluster_name or "
                             "datacenter (a task never acts on every host of a vCenter by default)",
                             host=self.endpoint)
        hosts = self.find_hosts(names=names, cluster=cluster, datacenter=datacenter)
        if not hosts:
            raise NotFoundError("no host matches (esxi_hostname=%s, cluster_name=%s, datacenter=%s)"
                                % (", ".join(names or []) or "-", cluster or "-", datacenter or "-"),
                                host=self.endpoint)
        return hosts

    def find_hosts(self, names=None, cluster=None, datacenter=None):
        """Hosts to work on, sorted by name.

        Via vCenter: the hosts named in ``names`` (host names or moids), of ``cluster`` (name), of ``datacenter``
        (name), all filters combined; with none of them, every host. ``NotFoundError`` lists names, clusters or
        datacenters that do not exist (``missing``). On ESXi directly: always the one host (filters ignored).
        """
        inv = self._load_inventory()
        hosts = inv["hosts"]
        if not self.is_vcenter:
            if not hosts:
                raise NotFoundError("no host found in the inventory", host=self.endpoint)
            return [Host(self, h["name"], h["moid"]) for h in hosts[:1]]
        if isinstance(names, str):
            names = [names]
        sel = list(hosts)
        if datacenter:
            if datacenter not in {d[0] for d in inv["datacenters"]}:
                raise NotFoundError("datacenter %s not found (datacenters: %s)"
                                    % (datacenter, ", ".join(d[0] for d in inv["datacenters"]) or "none"),
                                    host=self.endpoint, missing=[datacenter])
            sel = [h for h in sel if h["datacenter"] == datacenter]
        if cluster:
            if cluster not in inv["clusters"]:
                raise NotFoundError("cluster %s not found (clusters: %s)"
                                    % (cluster, ", ".join(inv["clusters"]) or "none"),
                                    host=self.endpoint, missing=[cluster])
            sel = [h for h in sel if h["cluster"] == cluster]
        if names:
            wanted = list(dict.fromkeys(names))
            by_key = {}
            for h in sel:
                by_key.setdefault(h["name"], h)
                by_key.setdefault(h["moid"], h)
            missing = [n for n in wanted if n not in by_key]
            if missing:
                scope = (" in cluster %s" % cluster) if cluster else (
                    " in datacenter %s" % datacenter if datacenter else "")
                raise NotFoundError("host(s) not found%s: %s" % (scope, ", ".join(missing)), host=self.endpoint,
                                    missing=missing)
            picked = {}
            for n in wanted:
                picked[by_key[n]["moid"]] = by_key[n]
            sel = sorted(picked.values(), key=lambda h: (h["name"], h["moid"]))
        return [Host(self, h["name"], h["moid"]) for h in sel]

    def host(self, ref):
        """A ``Host`` from a handle, a host name or a moid (NotFoundError if unknown)."""
        if isinstance(ref, Host):
            if ref.client is not self:
                return Host(self, ref.name, ref.moid)
            return ref
        if ref is None and self.is_vcenter:
            raise InputError("a host name is required when connected to vCenter")
        if not self.is_vcenter:
            return self.find_hosts()[0]
        return self.find_hosts(names=[ref])[0]

    def host_facts(self, host):
        """Plain facts of a host: name, moid, version, build, patch_level, product_line, full_name, api_version,
        boot_time (ISO), connection_state, power_state, in_maintenance_mode, cluster, datacenter,
        vcenter_managed, management_server_ip, endpoint."""
        host = self.host(host)
        props = self._host_props(host, ["name", "summary.config.product", "runtime.bootTime",
                                        "runtime.connectionState", "runtime.powerState",
                                        "runtime.inMaintenanceMode", "summary.managementServerIp"],
                                 "read host facts")
        prod = props.get("summary.config.product")
        rec = self._host_record(host.moid) or {}
        mgmt_ip = props.get("summary.managementServerIp")
        return {
            "name": props.get("name") or host.name, "moid": host.moid,
            "version": getattr(prod, "version", None), "build": getattr(prod, "build", None),
            "patch_level": getattr(prod, "patchLevel", None), "product_line": getattr(prod, "productLineId", None),
            "full_name": getattr(prod, "fullName", None), "api_version": getattr(prod, "apiVersion", None),
            "boot_time": iso(props.get("runtime.bootTime")),
            "connection_state": props.get("runtime.connectionState"),
            "power_state": props.get("runtime.powerState"),
            "in_maintenance_mode": bool(props.get("runtime.inMaintenanceMode")),
            "cluster": rec.get("cluster"), "datacenter": rec.get("datacenter"),
            "vcenter_managed": bool(self.is_vcenter or mgmt_ip),
            "management_server_ip": mgmt_ip or None,
            "endpoint": self.endpoint,
        }

    # ---- generic call helpers --------------------------------------------------------------------
    def _call(self, host, action, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise self._err(exc, action, host=host.label)

    def _run_task(self, host, action, start, timeout, secrets=()):
        try:
            task = start()
        except Exception as exc:
            raise translate(exc, host=host.label, action=action, secrets=list(self.secrets) + list(secrets),
                            endpoint=self.endpoint)
        return wait_for_task(task, timeout=timeout, host=host.label, action=action,
                             secrets=list(self.secrets) + list(secrets), endpoint=self.endpoint,
                             collector=self._content.propertyCollector)

    # ---- PatchManager ------------------------------------------------------------------------------
    def _config_manager(self, host, attr, what):
        """``host.configManager.<attr>``, or a clear error when the host has none."""
        mgr = self._call(host, "find the " + what, lambda: getattr(host._mo.configManager, attr))
        if mgr is None:
            raise VSphereError("the host has no " + what, host=host.label)
        return mgr

    def _patch_manager(self, host):
        return self._config_manager(host, "patchManager", "patch manager")

    @staticmethod
    def _patch_spec(cmd_options=None, proxy=None, proxy_port=None, proxy_user=None, proxy_password=None):
        if isinstance(cmd_options, (list, tuple)):
            cmd_options = " ".join(str(o) for o in cmd_options if o)
        if not (cmd_options or proxy or proxy_port or proxy_user or proxy_password):
            return None
        spec = vim.host.PatchManager.PatchManagerOperationSpec()
        if cmd_options:
            spec.cmdOption = cmd_options
        if proxy:
            spec.proxy = proxy
        if proxy_port:
            spec.port = int(proxy_port)
        if proxy_user:
            spec.userName = proxy_user
        if proxy_password:
            spec.password = proxy_password
        return spec

    def _patch_result(self, result, secrets):
        xml_text = getattr(result, "xmlResult", None) if result is not None else None
        xml_text = redact(xml_text, list(self.secrets) + list(secrets)) if xml_text else xml_text
        parsed = parse_xml_result(xml_text)
        return {
            "version": getattr(result, "version", None) if result is not None else None,
            "xml_result": xml_text,
            "status": [patch_status_dict(s) for s in (getattr(result, "status", None) or ())],
            "errors": parsed["errors"], "messages": parsed["messages"], "vibs": parsed["vibs"],
            "added_vibs": parsed["added_vibs"], "removed_vibs": parsed["removed_vibs"],
            "skipped_vibs": parsed["skipped_vibs"], "reboot_required": parsed["reboot_required"],
            "xml_parse_error": parsed["parse_error"],
        }

    def _patch_op(self, host, action, method, timeout, proxy_password=None, **kwargs):
        host = self.host(host)
        pm = self._patch_manager(host)
        secrets = [proxy_password] if proxy_password else []
        args = {k: v for k, v in kwargs.items() if v is not None}
        result = self._run_task(host, action, lambda: getattr(pm, method)(**args), timeout, secrets)
        return self._patch_result(result, secrets)

    def patch_scan(self, host, meta_urls=None, bundle_urls=None, cmd_options=None, proxy=None, proxy_port=None,
                   proxy_user=None, proxy_password=None, timeout=1800):
        """``ScanHostPatchV2_Task``: {version, xml_result, status: [...], errors, messages, vibs, reboot_required}."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "scan for patches", "ScanHostPatchV2_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              spec=spec)

    def patch_check(self, host, meta_urls=None, bundle_urls=None, cmd_options=None, proxy=None, proxy_port=None,
                    proxy_user=None, proxy_password=None, timeout=1800):
        """``CheckHostPatch_Task`` (pre-install check); same result shape as ``patch_scan``."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "check patches", "CheckHostPatch_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              spec=spec)

    def patch_stage(self, host, meta_urls=None, bundle_urls=None, vib_urls=None, cmd_options=None, proxy=None,
                    proxy_port=None, proxy_user=None, proxy_password=None, timeout=3600):
        """``StageHostPatch_Task``; same result shape as ``patch_scan``."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "stage patches", "StageHostPatch_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              vibUrls=list(vib_urls or []) or None, spec=spec)

    def patch_install(self, host, meta_urls=None, bundle_urls=None, vib_urls=None, cmd_options=None, proxy=None,
                      proxy_port=None, proxy_user=None, proxy_password=None, timeout=3600):
        """``InstallHostPatchV2_Task``. ``cmd_options`` e.g. ``["--maintenancemode"]`` (passed to esxupdate)."""
        spec = self._patch_spec(cmd_options, proxy, proxy_port, proxy_user, proxy_password)
        return self._patch_op(host, "install patches", "InstallHostPatchV2_Task", timeout, proxy_password,
                              metaUrls=list(meta_urls or []) or None, bundleUrls=list(bundle_urls or []) or None,
                              vibUrls=list(vib_urls or []) or None, spec=spec)

    def patch_uninstall(self, host, bulletin_ids, cmd_options=None, timeout=3600):
        """``UninstallHostPatch_Task(bulletinIds)``."""
        if not bulletin_ids:
            raise InputError("patch_uninstall needs at least one bulletin id")
        spec = self._patch_spec(cmd_options)
        return self._patch_op(host, "uninstall patches", "UninstallHostPatch_Task", timeout,
                              bulletinIds=list(bulletin_ids), spec=spec)

    def patch_query(self, host, timeout=600):
        """``QueryHostPatch_Task``: what the host reports as installed."""
        return self._patch_op(host, "query installed patches", "QueryHostPatch_Task", timeout)

    # ---- ImageConfigManager --------------------------------------------------------------------------
    def _image_manager(self, host):
        return self._config_manager(host, "imageConfigManager", "image config manager")

    def acceptance_get(self, host):
        """Host acceptance level, normalized: certified | accepted | partner | community."""
        host = self.host(host)
        icm = self._image_manager(host)
        return normalize_api_acceptance(self._call(host, "read the acceptance level",
                                                   icm.HostImageConfigGetAcceptance))

    def acceptance_set(self, host, level):
        """Set the acceptance level (our names or any alias); {changed, before, after} (normalized)."""
        host = self.host(host)
        target = api_acceptance_name(level)
        before = self.acceptance_get(host)
        if before == _API_ACCEPTANCE[target]:
            return {"changed": False, "before": before, "after": before}
        icm = self._image_manager(host)
        self._call(host, "set the acceptance level to %s" % target, icm.UpdateHostImageAcceptanceLevel,
                   newAcceptanceLevel=target)
        return {"changed": True, "before": before, "after": self.acceptance_get(host)}

    def image_profile(self, host):
        """{name, vendor} of the host's image profile."""
        host = self.host(host)
        icm = self._image_manager(host)
        prof = self._call(host, "read the image profile", icm.HostImageConfigGetProfile)
        return {"name": getattr(prof, "name", None), "vendor": getattr(prof, "vendor", None)}

    def install_date(self, host):
        """When the host image was installed/last updated (ISO), from ``ImageConfigManager.InstallDate``."""
        host = self.host(host)
        icm = self._image_manager(host)
        return iso(self._call(host, "read the install date", icm.InstallDate))

    @staticmethod
    def package_record(pkg):
        """pyVmomi ``SoftwarePackage`` -> plain dict with the API field names."""
        def rel(items):
            return [{"constraint": getattr(r, "constraint", None), "name": getattr(r, "name", None),
                     "version": getattr(r, "version", None)} for r in items or ()]
        cap = getattr(pkg, "capability", None)
        return {
            "name": pkg.name, "version": pkg.version, "type": pkg.type, "vendor": pkg.vendor,
            "acceptanceLevel": pkg.acceptanceLevel, "summary": pkg.summary, "description": pkg.description,
            "referenceURL": list(pkg.referenceURL or ()), "creationDate": pkg.creationDate,
            "depends": rel(pkg.depends), "conflicts": rel(pkg.conflicts), "replaces": rel(pkg.replaces),
            "provides": list(pkg.provides or ()), "maintenanceModeRequired": pkg.maintenanceModeRequired,
            "hardwarePlatformsRequired": list(pkg.hardwarePlatformsRequired or ()),
            "capability": {k: getattr(cap, k, None) for k in
                           ("liveInstallAllowed", "liveRemoveAllowed", "statelessReady", "overlay")} if cap else {},
            "tag": list(pkg.tag or ()), "payload": list(pkg.payload or ()),
        }

    def _fetch_packages(self, host):
        host = self.host(host)
        icm = self._image_manager(host)
        pkgs = self._call(host, "list the installed software packages", icm.FetchSoftwarePackages)
        return [self.package_record(p) for p in pkgs or ()]

    def software_packages(self, host):
        """Installed VIBs (``FetchSoftwarePackages``) as ``Vib.to_dict()``-shaped dicts, sorted by name."""
        out = [package_record_dict(r) for r in self._fetch_packages(host)]
        return sorted(out, key=lambda d: (d["name"], d["version"]))

    def software_vibs(self, host):
        """Installed VIBs as ``_models.Vib`` objects (for the controller-side scan)."""
        return sorted((package_record_to_vib(r) for r in self._fetch_packages(host)), key=lambda v: v.name)

    # ---- esxcli ----------------------------------------------------------------------------------------
    @property
    def esxcli(self):
        """The ``_esxcli.Esxcli`` bound to this client (``client.esxcli.vib_list(host)``)."""
        if self._esxcli is None:
            from ansible_collections.fleetpatch.esxi.plugins.module_utils.clients._esxcli import Esxcli
            self._esxcli = Esxcli(self)
        return self._esxcli

    # ---- maintenance mode ----------------------------------------------------------------------------
    def in_maintenance_mode(self, host):
        host = self.host(host)
        return bool(self._host_props(host, ["runtime.inMaintenanceMode"], "read the maintenance mode")
                    .get("runtime.inMaintenanceMode"))

    def enter_maintenance_mode(self, host, timeout=0, evacuate_powered_off_vms=False, vsan_mode=None,
                               wait_timeout=None):
        """Enter maintenance mode. ``timeout`` is the server-side limit (0 = none); ``vsan_mode`` one of
        noAction | ensureObjectAccessibility | evacuateAllData. Returns True if it changed anything."""
        host = self.host(host)
        if vsan_mode is not None and vsan_mode not in VSAN_MODES:
            raise InputError("vsan_mode must be one of %s, not %r" % (", ".join(VSAN_MODES), vsan_mode))
        if self.in_maintenance_mode(host):
            return False
        kwargs = {"timeout": int(timeout or 0)}
        if evacuate_powered_off_vms:
            kwargs["evacuatePoweredOffVms"] = True
        if vsan_mode:
            kwargs["maintenanceSpec"] = vim.host.MaintenanceSpec(
                vsanMode=vim.vsan.host.DecommissionMode(objectAction=vsan_mode))
        wait = wait_timeout if wait_timeout is not None else (int(timeout) + 60 if timeout else 3600)
        self._run_task(host, "enter maintenance mode", lambda: host._mo.EnterMaintenanceMode_Task(**kwargs), wait)
        return True

    def exit_maintenance_mode(self, host, timeout=0, wait_timeout=None):
        """Exit maintenance mode; True if it changed anything."""
        host = self.host(host)
        if not self.in_maintenance_mode(host):
            return False
        wait = wait_timeout if wait_timeout is not None else (int(timeout) + 60 if timeout else 1800)
        self._run_task(host, "exit maintenance mode",
                       lambda: host._mo.ExitMaintenanceMode_Task(timeout=int(timeout or 0)), wait)
        return True

    # ---- reboot ------------------------------------------------------------------------------------
    def reboot(self, host, force=False, timeout=1800, poll_max=10.0, poll_initial=0.5):
        """Reboot ``host`` and wait until it is back; return ``(host, info)``.

        ``host`` is a fresh handle (re-found after the reconnect); ``info`` = {rebooted, boot_time_before,
        boot_time_after, build_before, build_after, states, reconnected, seconds}. Via vCenter the host's
        ``runtime.connectionState``/``bootTime`` are polled; on ESXi directly the session dies with hostd and the
        client logs in again with backoff. ``RebootTimeoutError`` after ``timeout`` seconds names the last known
        state. ``force=False`` on a host outside maintenance mode fails (InvalidState) before anything happens.
        """
        host = self.host(host)
        started = time.monotonic()
        deadline = started + float(timeout)
        before = self.host_facts(host)
        try:
            task = host._mo.RebootHost_Task(force=bool(force))
        except Exception as exc:
            err = self._err(exc, "reboot", host=host.label)
            if HAS_PYVMOMI and isinstance(exc, vim.fault.InvalidState):
                err.msg += " (the host must be in maintenance mode, or use force)"
            raise err
        try:
            wait_for_task(task, timeout=max(1.0, min(120.0, deadline - time.monotonic())), host=host.label,
                          action="reboot", secrets=self.secrets, endpoint=self.endpoint,
                          collector=self._content.propertyCollector)
        except (ConnectionFailedError, HostNotConnectedError):
            pass   # the host went down before reporting the task result: expected on ESXi directly
        if self.is_vcenter:
            info = self._wait_back_vcenter(host, before, deadline, poll_initial, poll_max)
        else:
            info = self._wait_back_direct(host, before, deadline, poll_initial, poll_max)
        self._inventory = None
        if self.is_vcenter:
            rec = self._host_record(host.moid)
            new_host = Host(self, rec["name"], rec["moid"]) if rec else self.find_hosts(names=[host.name])[0]
        else:
            new_host = self.find_hosts()[0]
        after = self.host_facts(new_host)
        info.update({"rebooted": True, "boot_time_before": before["boot_time"], "boot_time_after": after["boot_time"],
                     "build_before": before["build"], "build_after": after["build"],
                     "in_maintenance_mode": after["in_maintenance_mode"],
                     "seconds": round(time.monotonic() - started, 3)})
        return new_host, info

    @staticmethod
    def _newer(boot_time, before):
        if boot_time is None:
            return False
        if before is None:
            return True
        return boot_time > before

    def _wait_back_vcenter(self, host, before, deadline, poll_initial, poll_max):
        states = [before["connection_state"]]
        delays = backoff_delays(initial=poll_initial, maximum=poll_max)
        before_boot = _parse_iso(before["boot_time"])
        last = "reboot requested (%s)" % before["connection_state"]
        seen_down = False
        while True:
            try:
                props = self._host_props(host, ["runtime.connectionState", "runtime.bootTime"], "watch the reboot")
                state = props.get("runtime.connectionState")
                if states[-1] != state:
                    states.append(state)
                seen_down = seen_down or state != "connected"
                last = state
                boot = props.get("runtime.bootTime")
                if state == "connected" and (self._newer(boot, before_boot) or (before_boot is None and seen_down)):
                    return {"states": states, "reconnected": False}
            except AuthenticationError:
                raise
            except (VSphereError, ConnectionFailedError) as exc:
                last = "unknown (vCenter did not answer: %s)" % exc.msg
                if self._is_dead_session(exc):
                    self._try_reconnect(deadline)
            now = time.monotonic()
            if now >= deadline:
                raise RebootTimeoutError(
                    "the host did not come back from the reboot in time; last known state: %s (states seen: %s)"
                    % (last, " -> ".join(str(s) for s in states)), host=host.label, last_state=last, states=states)
            time.sleep(min(next(delays), max(0.0, deadline - now)))

    @staticmethod
    def _is_dead_session(err):
        return bool(err.details.get("session_lost") or err.details.get("connection_lost"))

    def _try_reconnect(self, deadline):
        try:
            self.reconnect(timeout=max(1.0, min(self.timeout, deadline - time.monotonic())))
            return True
        except AuthenticationError:
            raise
        except VSphereError:
            self._drop()
            return False

    def _wait_back_direct(self, host, before, deadline, poll_initial, poll_max):
        states = ["up"]
        delays = backoff_delays(initial=poll_initial, maximum=poll_max)
        before_boot = _parse_iso(before["boot_time"])
        last = "reboot requested"
        seen_down = False
        reconnected = False
        while True:
            try:
                if self._si is None:
                    self._open(max(1.0, min(self.timeout, deadline - time.monotonic())))
                    self.reconnects += 1
                    reconnected = True
                    if states[-1] != "reconnected":
                        states.append("reconnected")
                rec = self.find_hosts()[0]
                props = self._host_props(rec, ["runtime.bootTime", "runtime.connectionState"], "watch the reboot")
                boot = props.get("runtime.bootTime")
                if self._newer(boot, before_boot) or (before_boot is None and seen_down):
                    states.append("up (new boot time)")
                    return {"states": states, "reconnected": reconnected}
                last = "still up with the old boot time (reboot not started yet)"
            except AuthenticationError:
                raise
            except VSphereError as exc:
                seen_down = True
                if exc.details.get("session_lost"):
                    last = "session invalidated (hostd restarted)"
                else:
                    last = "unreachable (%s)" % exc.msg
                tag = "session lost" if exc.details.get("session_lost") else "unreachable"
                if states[-1] != tag:
                    states.append(tag)
                self._drop()
            now = time.monotonic()
            if now >= deadline:
                raise RebootTimeoutError(
                    "the host did not come back from the reboot in time; last known state: %s (states seen: %s)"
                    % (last, " -> ".join(states)), host=host.label, last_state=last, states=states)
            time.sleep(min(next(delays), max(0.0, deadline - now)))

    # ---- firewall ----------------------------------------------------------------------------------
    def _firewall(self, host):
        return self._config_manager(host, "firewallSystem", "firewall system")

    def firewall_rulesets(self, host):
        """{ruleset key: enabled} of the host firewall."""
        host = self.host(host)
        fw = self._firewall(host)
        info = self._call(host, "read the firewall", lambda: fw.firewallInfo)
        return {r.key: bool(r.enabled) for r in (getattr(info, "ruleset", None) or ())}

    def firewall_ruleset_enabled(self, host, ruleset):
        rules = self.firewall_rulesets(host)
        if ruleset not in rules:
            raise NotFoundError("firewall ruleset %s not found (rulesets: %s)" % (ruleset, ", ".join(sorted(rules))),
                                host=self.host(host).label, missing=[ruleset])
        return rules[ruleset]

    def set_firewall_ruleset(self, host, ruleset, enabled):
        """Enable/disable a ruleset; returns whether it was enabled BEFORE (so callers can restore it)."""
        host = self.host(host)
        was = self.firewall_ruleset_enabled(host, ruleset)
        if was != bool(enabled):
            fw = self._firewall(host)
            method = fw.EnableRuleset if enabled else fw.DisableRuleset
            self._call(host, "%s firewall ruleset %s" % ("enable" if enabled else "disable", ruleset), method,
                       id=ruleset)
        return was

    @contextlib.contextmanager
    def ruleset_open(self, host, ruleset="httpClient"):
        """Open ``ruleset`` for the block; restore the previous state afterwards, also on exceptions.
        Yields whether it was already enabled."""
        host = self.host(host)
        was = self.set_firewall_ruleset(host, ruleset, True)
        ok = False
        try:
            yield was
            ok = True
        finally:
            if not was:
                try:
                    self.set_firewall_ruleset(host, ruleset, False)
                except FleetpatchError:
                    if ok:
                        raise

    # ---- events ------------------------------------------------------------------------------------
    def log_user_event(self, host, message):
        """Record ``message`` as a user event on the host (EventManager.LogUserEvent). Returns True."""
        host = self.host(host)
        self._ensure()
        em = self._content.eventManager
        self._call(host, "log an event", em.LogUserEvent, entity=host._mo, msg=redact(message, self.secrets))
        return True

    def host_events(self, host, since=None, event_types=None, max_count=EVENTS_MAX_DEFAULT):
        """The newest ``max_count`` (1..1000) events of the host (filter: entity = the host, recursion self), oldest
        first: [{key, type, message, full_message, created_time (ISO), user}]. ``message`` is the text a user event
        was logged with (``GeneralEvent.message``), else the full formatted message. ``since``: datetime (naive =
        UTC) or ISO 8601 string, inclusive; ``event_types``: event type names (``GeneralUserEvent``; base types
        such as ``HostEvent`` too).

        Reads through an EventHistoryCollector (QueryEvents is not implemented on a standalone ESXi host), which is
        destroyed afterwards. ``since`` is also applied here, so servers that ignore the time filter give the same
        answer."""
        host = self.host(host)
        self._ensure()
        if isinstance(max_count, bool) or not isinstance(max_count, int) or not 1 <= max_count <= EVENTS_MAX:
            raise InputError("max_count must be an integer from 1 to %d, got %r" % (EVENTS_MAX, max_count))
        begin = _as_utc(since)
        if since is not None and begin is None:
            raise InputError("since must be a datetime or an ISO 8601 date and time, got %r" % (since,))
        if isinstance(event_types, str):
            event_types = [event_types]
        spec = vim.event.EventFilterSpec(
            entity=vim.event.EventFilterSpec.ByEntity(entity=host._mo, recursion="self"),
            disableFullMessage=False, eventTypeId=list(event_types or []))
        if begin is not None:
            spec.time = vim.event.EventFilterSpec.ByTime(beginTime=begin)
        em = self._content.eventManager
        collector = self._call(host, "read the host's events", em.CreateCollectorForEvents, filter=spec)
        events = []
        try:
            self._call(host, "read the host's events", collector.RewindCollector)
            while True:
                page = self._call(host, "read the host's events", collector.ReadNextEvents, maxCount=EVENTS_PAGE)
                if not page:
                    break
                events.extend(page)
                del events[:-max_count]          # keep only the newest max_count (pages come oldest first)
        finally:
            try:
                collector.DestroyCollector()
            except Exception:                    # the session may be gone; the server drops it with the session
                pass
        out = []
        for ev in sorted(events, key=lambda e: e.key):      # keys grow with time on a server
            created = _as_utc(ev.createdTime)
            if begin is not None and created is not None and created < begin:
                continue
            msg = getattr(ev, "message", None)
            full = getattr(ev, "fullFormattedMessage", None)
            out.append({"key": ev.key, "type": getattr(ev, "_wsdlName", None) or type(ev).__name__.split(".")[-1],
                        "message": msg if isinstance(msg, str) else full, "full_message": full,
                        "created_time": iso(created), "user": ev.userName or None})
        return out[-max_count:]

    # ---- datastores ----------------------------------------------------------------------------------
    def find_datastore(self, name, host=None):
        """Datastore ``name`` (of ``host`` when given): {name, moid, url, uuid, type, capacity, free_space,
        accessible, datacenter, datacenter_moid, datacenter_path}. NotFoundError lists the known datastores."""
        self._ensure()
        try:
            if host is not None:
                host = self.host(host)
                objs = self._host_props(host, ["datastore"], "list datastores").get("datastore") or []
                rows = self._retrieve([(vim.Datastore, ["name", "summary", "parent"])], objects=list(objs)) \
                    if objs else []
            else:
                view = self._content.viewManager.CreateContainerView(self._content.rootFolder, [vim.Datastore], True)
                try:
                    rows = self._retrieve([(vim.Datastore, ["name", "summary", "parent"])], container=view)
                finally:
                    try:
                        view.DestroyView()
                    except Exception:
                        pass
        except FleetpatchError:
            raise
        except Exception as exc:
            raise self._err(exc, "list datastores", host=host.label if isinstance(host, Host) else None)
        names = sorted(p.get("name") for _o, p in rows if p.get("name"))
        for obj, props in rows:
            if props.get("name") != name:
                continue
            summ = props.get("summary")
            dc = self._datacenter_of(props.get("parent"))
            url = getattr(summ, "url", None)
            return {"name": name, "moid": obj._moId, "url": url, "uuid": datastore_uuid(url),
                    "type": getattr(summ, "type", None), "capacity": getattr(summ, "capacity", None),
                    "free_space": getattr(summ, "freeSpace", None),
                    "accessible": bool(getattr(summ, "accessible", False)),
                    "datacenter": dc[0], "datacenter_moid": dc[1], "datacenter_path": dc[2]}
        where = host.label if isinstance(host, Host) else self.endpoint
        raise NotFoundError("datastore %s not found (datastores: %s)" % (name, ", ".join(names) or "none"),
                            host=where, missing=[name])

    def _datacenter_of(self, parent):
        inv = self._load_inventory()
        nodes = inv["nodes"]
        p = nodes.get(parent._moId) if parent is not None else None
        seen = 0
        while p is not None and seen < 64:
            seen += 1
            if p["kind"] == "Datacenter":
                path = [p["name"]]
                q = nodes.get(p["parent"])
                while q is not None and q["parent"] is not None:
                    path.insert(0, q["name"])
                    q = nodes.get(q["parent"])
                return p["name"], p["obj"]._moId, "/".join(path)
            p = nodes.get(p["parent"])
        if inv["datacenters"]:
            name, moid = inv["datacenters"][0]
            return name, moid, name
        return None, None, None

    def _mo(self, vim_type, moid):
        self._ensure()
        return vim_type(moid, self._stub)


def _as_utc(value):
    """datetime (naive = UTC) or ISO 8601 string -> aware UTC datetime; None (also for bad input) otherwise."""
    if isinstance(value, str):
        value = _parse_iso(value)
    if not isinstance(value, datetime.datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _parse_iso(text):
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


__all__ = ["VSphereClient", "Host", "HAS_PYVMOMI", "PYVMOMI_IMPORT_ERROR", "build_ssl_context", "parse_xml_result",
           "map_relation", "package_record_to_vib", "package_record_dict", "patch_status_dict", "datastore_uuid",
           "VSAN_MODES"]
