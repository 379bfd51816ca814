# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: vCenter tags over the vSphere Automation REST API ("vAPI"). Breaking changes at any time.

The only code of the collection that talks vAPI REST. ``VapiClient`` logs in once
(``POST /rest/com/vmware/cis/session`` with HTTP basic auth, the session id goes back in the
``vmware-api-session-id`` header) with the same connection options as ``VSphereClient`` (hostname, port, user,
password, ``validate_certs``, ``ca_path``), and offers the tagging calls the collection needs: categories, tags,
and the tags attached to an inventory object (by managed object id). ``close()`` logs out. The session plumbing
(login, one exchange, login again after a 401, logout, the session cache) is the REST base ``_clients/rest.py``.

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

from urllib.parse import quote

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.rest import (
    HAS_REQUESTS, REQUESTS_IMPORT_ERROR, SESSION_HEADER, RestSession)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, ConnectionFailedError, InputError, NotFoundError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import CERT_HINT

__all__ = ["VapiClient", "HAS_REQUESTS", "REQUESTS_IMPORT_ERROR", "SESSION_HEADER", "SESSION_PATH", "error_type",
           "error_messages", "require_requests"]

DEFAULT_TIMEOUT = 60
REST = "/rest"
SESSION_PATH = "/com/vmware/cis/session"
CATEGORY_PATH = "/com/vmware/cis/tagging/category"
TAG_PATH = "/com/vmware/cis/tagging/tag"
ASSOCIATION_PATH = "/com/vmware/cis/tagging/tag-association"
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


class VapiClient(RestSession):
    """One vAPI REST session to a vCenter. Connects on construction (``connect=False`` to defer); ``close()`` (also
    via ``with`` and at interpreter exit) logs out, unless the session is cached (``session_cache``)."""

    LABEL = "vCenter tagging (vAPI)"
    WHAT_FOR = "vCenter tags"
    USER_AGENT = "fleetpatch.esxi vAPI client"
    CACHE_KIND = "rest"
    SESSION_URL = REST + SESSION_PATH
    MAX_BODY = _MAX_BODY
    CERT_HINT = CERT_HINT

    @classmethod
    def from_params(cls, params, **kwargs):
        """A client from a module's connection options (see ``_argspec.connection_argument_spec``)."""
        options = cls._connection_kwargs(params)
        options.update(kwargs)
        return cls(params.get("hostname"), params.get("username"), params.get("password"), **options)

    def __init__(self, hostname, username, password, port=443, validate_certs=True, ca_path=None,
                 timeout=DEFAULT_TIMEOUT, connect=True, proxy_host=None, proxy_port=None, session_cache=None):
        require_requests()
        super().__init__(hostname, username, password, port=port, validate_certs=validate_certs, ca_path=ca_path,
                         timeout=timeout, proxy_host=proxy_host, proxy_port=proxy_port, session_cache=session_cache)
        if connect:
            self.connect()

    def _url(self, path, action=None):
        url = "https://%s%s%s" % (self.endpoint, REST, path)
        return url + ("?~action=%s" % action if action else "")

    # ---- plumbing ----------------------------------------------------------------------------------
    def _send(self, method, path, action=None, body=None, auth=None, what=None):
        """One HTTP exchange; returns (status, parsed JSON body or None). Network and TLS faults are raised."""
        return self._exchange(method, self._url(path, action), body=body, auth=auth,
                              what=what or "%s %s" % (method, path))

    def _session_value(self, parsed):
        return parsed.get("value") if isinstance(parsed, dict) else parsed

    def _fail(self, what, status, body, login=False):
        """The exception for a non-2xx answer."""
        kind = error_type(body)
        texts = error_messages(body)
        detail = "HTTP %s%s%s" % (status, " %s" % kind if kind else "", ": %s" % "; ".join(texts) if texts else "")
        detail = self._redact(detail)
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
        parsed = self._request(method, self._url(path, action), body=body, what=what or "%s %s" % (method, path),
                               retry=retry)
        return parsed.get("value") if isinstance(parsed, dict) else None

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
