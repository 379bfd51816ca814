# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: vCenter tags over the vSphere Automation REST API ("vAPI"). Breaking changes at any time.

The only code of the collection that talks vAPI REST. ``VapiClient`` logs in once
(``POST /rest/com/vmware/cis/session`` with HTTP basic auth, the session id goes back in the
``vmware-api-session-id`` header) with the same connection options as ``VSphereClient`` (hostname, port, user,
password, ``validate_certs``, ``ca_path``), and offers the tagging calls the collection needs: categories, tags,
and the tags attached to an inventory object (by managed object id). ``close()`` logs out.

Paths are the ``/rest`` ones (vSphere 6.5 and later; still served by vCenter 7 and 8 next to the newer ``/api``
paths, which govmomi's simulator does not serve). Every failure becomes an exception of ``_errors.py`` whose message
names the vCenter and the call; no password or session id ever reaches a message.

Typical use::

    with VapiClient.from_params(module.params) as vapi:
        cat = vapi.find_category("fleetpatch-compliance") or vapi.create_category("fleetpatch-compliance")
        tag = vapi.find_tag(cat["id"], "compliant") or vapi.create_tag(cat["id"], "compliant")
        if tag["id"] not in vapi.attached_tag_ids("host-21"):
            vapi.attach(tag["id"], "host-21")
"""

from __future__ import annotations

import atexit
import json
import os
import traceback
import warnings
from urllib.parse import quote

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import session_factory, tls_verify
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, ConnectionFailedError, InputError, NotFoundError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import CERT_HINT, endpoint_label, redact

try:
    from requests import exceptions as _rexc
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the controller
    _rexc = None  # type: ignore[assignment]
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

DEFAULT_TIMEOUT = 60
REST = "/rest"
SESSION_PATH = "/com/vmware/cis/session"
CATEGORY_PATH = "/com/vmware/cis/tagging/category"
TAG_PATH = "/com/vmware/cis/tagging/tag"
ASSOCIATION_PATH = "/com/vmware/cis/tagging/tag-association"
SESSION_HEADER = "vmware-api-session-id"
HOST_TYPE = "HostSystem"
CARDINALITIES = ("SINGLE", "MULTIPLE")
_MAX_BODY = 16 * 1024 * 1024


def require_requests():
    if not HAS_REQUESTS:
        raise VSphereError("the Python library requests is required for vCenter tags (pip install requests)",
                           import_error=REQUESTS_IMPORT_ERROR)


def error_type(body):
    """``com.vmware.vapi.std.errors.not_found`` -> ``not_found`` (None when the body is no vAPI error)."""
    if isinstance(body, dict) and isinstance(body.get("type"), str):
        return body["type"].rsplit(".", 1)[-1]
    return None


def error_messages(body):
    """The ``default_message`` texts of a vAPI error body (``{"type": ..., "value": {"messages": [...]}}``)."""
    out = []
    value = body.get("value") if isinstance(body, dict) else None
    if isinstance(value, dict):
        for m in value.get("messages") or ():
            if isinstance(m, dict) and m.get("default_message"):
                out.append(str(m["default_message"]))
    return out


def _id_path(base, ident):
    return "%s/id:%s" % (base, quote(str(ident), safe=":"))


class VapiClient(object):
    """One vAPI REST session to a vCenter. Connects on construction (``connect=False`` to defer); ``close()`` (also
    via ``with`` and at interpreter exit) logs out."""

    @classmethod
    def from_params(cls, params, **kwargs):
        """A client from a module's connection options (see ``_argspec.connection_argument_spec``)."""
        return cls(params.get("hostname"), params.get("username"), params.get("password"),
                   port=params.get("port") or 443, validate_certs=params.get("validate_certs", True),
                   ca_path=params.get("ca_path"), proxy_host=params.get("proxy_host"),
                   proxy_port=params.get("proxy_port"), **kwargs)

    def __init__(self, hostname, username, password, port=443, validate_certs=True, ca_path=None,
                 timeout=DEFAULT_TIMEOUT, connect=True, proxy_host=None, proxy_port=None):
        require_requests()
        if not hostname:
            raise InputError("hostname is required to connect to vCenter")
        self.hostname = str(hostname)
        self.port = int(port or 443)
        self.username = username
        self._password = password
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path
        # HTTP proxy (CONNECT tunnel) for this endpoint only; the environment's proxies are not used for it.
        self.proxy_host = str(proxy_host) if proxy_host else None
        self.proxy_port = int(proxy_port or 80)
        if self.validate_certs and ca_path and not os.path.exists(ca_path):
            raise InputError("cannot load the CA bundle %s: no such file or directory" % ca_path)
        self.timeout = float(timeout)
        self._http = None
        self._session_id = None
        self._atexit = False
        if connect:
            self.connect()

    # ---- identity --------------------------------------------------------------------------------
    @property
    def endpoint(self):
        return endpoint_label(self.hostname, self.port)

    @property
    def secrets(self):
        return [s for s in (self._password, self._session_id) if s]

    @property
    def connected(self):
        return self._session_id is not None

    def _url(self, path, action=None):
        url = "https://%s%s%s" % (self.endpoint, REST, path)
        return url + ("?~action=%s" % action if action else "")

    def _verify(self):
        return tls_verify(self.validate_certs, self.ca_path)

    def _session(self):
        if self._http is None:
            url = "http://" + endpoint_label(self.proxy_host, self.proxy_port) if self.proxy_host else None
            # no proxies or netrc from the environment for the vCenter endpoint (trust_env False)
            s = session_factory(self.validate_certs, self.ca_path, proxies={"http": url, "https": url} if url else None,
                                trust_env=False, user_agent="fleetpatch.esxi vAPI client")
            s.headers["Accept"] = "application/json"
            self._http = s
        return self._http

    # ---- plumbing ----------------------------------------------------------------------------------
    def _send(self, method, path, action=None, body=None, auth=None, what=None):
        """One HTTP exchange; returns (status, parsed JSON body or None). Network and TLS faults are raised."""
        what = what or "%s %s" % (method, path)
        headers = {}
        if self._session_id and auth is None:
            headers[SESSION_HEADER] = self._session_id
        kwargs = {"headers": headers, "verify": self._verify(), "timeout": self.timeout, "allow_redirects": False}
        if auth is not None:
            kwargs["auth"] = auth
        if body is not None:
            kwargs["data"] = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            with warnings.catch_warnings():
                if kwargs["verify"] is False:
                    warnings.simplefilter("ignore")     # the user chose validate_certs: false
                resp = self._session().request(method, self._url(path, action), **kwargs)
                raw = resp.content[:_MAX_BODY]
        except _rexc.SSLError as exc:
            reason = redact(exc, self.secrets)
            if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
                raise ConnectionFailedError("vCenter tagging (vAPI): %s failed: %s (%s)" % (what, CERT_HINT, reason),
                                            host=self.endpoint, certificate_error=True)
            raise ConnectionFailedError("vCenter tagging (vAPI): %s failed: TLS error: %s" % (what, reason),
                                        host=self.endpoint)
        except _rexc.Timeout as exc:
            raise ConnectionFailedError("vCenter tagging (vAPI): %s timed out after %ss (%s)"
                                        % (what, self.timeout, redact(exc, self.secrets)), host=self.endpoint)
        except _rexc.ConnectionError as exc:
            raise ConnectionFailedError("vCenter tagging (vAPI): %s failed: cannot connect (%s)"
                                        % (what, redact(exc, self.secrets)), host=self.endpoint)
        except _rexc.RequestException as exc:
            raise VSphereError("vCenter tagging (vAPI): %s failed: %s" % (what, redact(exc, self.secrets)),
                               host=self.endpoint)
        status = resp.status_code
        resp.close()
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw.decode("utf-8", "replace"))
            except ValueError:
                parsed = None
        return status, parsed

    def _fail(self, what, status, body, login=False):
        """The exception for a non-2xx answer."""
        kind = error_type(body)
        texts = error_messages(body)
        detail = "HTTP %s%s%s" % (status, " %s" % kind if kind else "", ": %s" % "; ".join(texts) if texts else "")
        detail = redact(detail, self.secrets)
        extra = {"http_status": status, "vapi_error": kind}
        if status == 401:
            if login:
                return AuthenticationError("vCenter tagging (vAPI) login as %s refused: incorrect user name or "
                                           "password (%s)" % (self.username, detail), host=self.endpoint, **extra)
            return ConnectionFailedError("vCenter tagging (vAPI): %s refused: the session is no longer valid (%s)"
                                         % (what, detail), host=self.endpoint, session_lost=True, **extra)
        if status == 403 or kind == "unauthorized":
            return VSphereError("vCenter tagging (vAPI): %s refused: permission denied; the user %s needs the "
                                "vSphere Tagging privileges (create category, create tag, assign or unassign tag) "
                                "(%s)" % (what, self.username, detail), host=self.endpoint, **extra)
        if login and status in (400, 404):      # real ESXi answers the vAPI login with 400 (govmomi issue 1707)
            return ConnectionFailedError("vCenter tagging (vAPI): %s does not serve the vSphere Automation API "
                                         "(%s); tags need a vCenter Server 6.5 or later, not an ESXi host"
                                         % (self.endpoint, detail), host=self.endpoint, **extra)
        if status == 404 or kind == "not_found":
            return NotFoundError("vCenter tagging (vAPI): %s: not found (%s)" % (what, detail), host=self.endpoint,
                                 **extra)
        return VSphereError("vCenter tagging (vAPI): %s failed: %s" % (what, detail), host=self.endpoint, **extra)

    def _call(self, method, path, action=None, body=None, what=None, retry=True):
        """A call on the session; returns the ``value`` of the answer. Logs in again once if the session died."""
        if self._session_id is None:
            self.connect()
        status, parsed = self._send(method, path, action=action, body=body, what=what)
        if status == 401 and retry:
            self._session_id = None
            self.connect()
            return self._call(method, path, action=action, body=body, what=what, retry=False)
        if not 200 <= status < 300:
            raise self._fail(what or "%s %s" % (method, path), status, parsed)
        return parsed.get("value") if isinstance(parsed, dict) else None

    # ---- session -----------------------------------------------------------------------------------
    def connect(self):
        """Log in (idempotent)."""
        if self._session_id is not None:
            return self
        what = "login as %s" % self.username
        if not self.username or not self._password:
            raise InputError("vCenter tagging needs a user name and a password", host=self.endpoint)
        status, parsed = self._send("POST", SESSION_PATH, auth=(str(self.username), str(self._password)), what=what)
        if not 200 <= status < 300:
            raise self._fail(what, status, parsed, login=True)
        value = parsed.get("value") if isinstance(parsed, dict) else parsed
        if not isinstance(value, str) or not value:
            raise VSphereError("vCenter tagging (vAPI): %s: the answer holds no session id" % what, host=self.endpoint)
        self._session_id = value
        if not self._atexit:
            atexit.register(self.close)
            self._atexit = True
        return self

    def close(self):
        """Log out and release the connection. Safe to call twice; never raises."""
        if self._session_id is not None:
            try:
                self._send("DELETE", SESSION_PATH, what="logout")
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

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- categories --------------------------------------------------------------------------------
    @staticmethod
    def _category(value):
        value = value if isinstance(value, dict) else {}
        return {"id": value.get("id"), "name": value.get("name"), "description": value.get("description") or "",
                "cardinality": value.get("cardinality"), "associable_types": list(value.get("associable_types") or [])}

    def list_categories(self):
        """The ids of every tag category."""
        return list(self._call("GET", CATEGORY_PATH, what="list the tag categories") or [])

    def get_category(self, category_id):
        """{id, name, description, cardinality, associable_types} (an empty ``associable_types``: every type)."""
        return self._category(self._call("GET", _id_path(CATEGORY_PATH, category_id),
                                         what="read tag category %s" % category_id))

    def find_category(self, name):
        """The category named ``name`` (exact match), or None."""
        for cid in self.list_categories():
            try:
                cat = self.get_category(cid)
            except NotFoundError:       # deleted in the meantime
                continue
            if cat["name"] == name:
                return cat
        return None

    def create_category(self, name, description="", cardinality="SINGLE", associable_types=(HOST_TYPE,)):
        """Create a category; returns its record. When another client created it first, returns that one."""
        if cardinality not in CARDINALITIES:
            raise InputError("tag category cardinality must be one of %s, not %r" % (", ".join(CARDINALITIES),
                                                                                     cardinality))
        spec = {"create_spec": {"name": name, "description": description or "", "cardinality": cardinality,
                                "associable_types": list(associable_types or [])}}
        try:
            cid = self._call("POST", CATEGORY_PATH, body=spec, what="create tag category %s" % name)
        except VSphereError as exc:
            if exc.details.get("vapi_error") == "already_exists":
                found = self.find_category(name)
                if found is not None:
                    return found
            raise
        return self.get_category(cid)

    # ---- tags -------------------------------------------------------------------------------------
    @staticmethod
    def _tag(value):
        value = value if isinstance(value, dict) else {}
        return {"id": value.get("id"), "name": value.get("name"), "description": value.get("description") or "",
                "category_id": value.get("category_id")}

    def list_tags_for_category(self, category_id):
        """The ids of the tags of a category."""
        return list(self._call("POST", _id_path(TAG_PATH, category_id), action="list-tags-for-category",
                               what="list the tags of category %s" % category_id) or [])

    def get_tag(self, tag_id):
        """{id, name, description, category_id}."""
        return self._tag(self._call("GET", _id_path(TAG_PATH, tag_id), what="read tag %s" % tag_id))

    def tags_of_category(self, category_id):
        """Every tag record of a category, sorted by name."""
        out = []
        for tid in self.list_tags_for_category(category_id):
            try:
                out.append(self.get_tag(tid))
            except NotFoundError:
                continue
        return sorted(out, key=lambda t: (t["name"] or "", t["id"] or ""))

    def find_tag(self, category_id, name):
        """The tag ``name`` of a category, or None."""
        for tag in self.tags_of_category(category_id):
            if tag["name"] == name:
                return tag
        return None

    def create_tag(self, category_id, name, description=""):
        """Create a tag in a category; returns its record. When another client created it first, returns that one."""
        spec = {"create_spec": {"name": name, "description": description or "", "category_id": category_id}}
        try:
            tid = self._call("POST", TAG_PATH, body=spec, what="create tag %s" % name)
        except VSphereError as exc:
            if exc.details.get("vapi_error") == "already_exists":
                found = self.find_tag(category_id, name)
                if found is not None:
                    return found
            raise
        return self.get_tag(tid)

    # ---- associations -------------------------------------------------------------------------------
    @staticmethod
    def _object(moid, object_type):
        return {"object_id": {"id": str(moid), "type": object_type}}

    def attached_tag_ids(self, moid, object_type=HOST_TYPE):
        """The ids of every tag attached to the object (any category)."""
        return list(self._call("POST", ASSOCIATION_PATH, action="list-attached-tags",
                               body=self._object(moid, object_type),
                               what="list the tags of %s %s" % (object_type, moid)) or [])

    def attach(self, tag_id, moid, object_type=HOST_TYPE, what=None):
        """Attach a tag to an object (``what`` names the operation in error messages)."""
        self._call("POST", _id_path(ASSOCIATION_PATH, tag_id), action="attach", body=self._object(moid, object_type),
                   what=what or "attach tag %s to %s %s" % (tag_id, object_type, moid))

    def detach(self, tag_id, moid, object_type=HOST_TYPE, what=None):
        """Detach a tag from an object (``what`` names the operation in error messages)."""
        self._call("POST", _id_path(ASSOCIATION_PATH, tag_id), action="detach", body=self._object(moid, object_type),
                   what=what or "detach tag %s from %s %s" % (tag_id, object_type, moid))
