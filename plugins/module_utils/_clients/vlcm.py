# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: vSphere Lifecycle Manager (vLCM) over vCenter's REST API (the ``/api`` flavour). Breaking changes at any
time.

``VlcmClient`` logs in with HTTP basic auth (``POST /api/session``; the session id goes back in the
``vmware-api-session-id`` header), with the same connection options as the other clients (hostname, port, user,
password, ``validate_certs``, ``ca_path``, ``proxy_host``/``proxy_port``: an HTTP CONNECT proxy for this endpoint
only), and ``close()`` logs out (``DELETE /api/session``); the session plumbing (login, one exchange, login again
after a 401, logout, the session cache) is the REST base ``_clients/rest.py``. Every call is an
operation of VMware's own API description (esx-8.0.2, cis-8.0.2, session-8.0.2, vcenter-7.0.3 Swagger files; the
tests validate every exchange against them). Long operations (``...&vmw-task=true``) return a CIS task id that
``wait_task`` follows (``GET /api/cis/tasks/{task}``).

Failures become exceptions of ``_common/errors.py`` naming the vCenter and the call, with vCenter's own messages;
no password or session id ever reaches a message.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote, urlencode, urlsplit

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.rest import (  # noqa: F401 (re-exports)
    CERT_HINT, HAS_REQUESTS, REQUESTS_IMPORT_ERROR, SESSION_HEADER, RestSession)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, ConnectionFailedError, InputError, NotFoundError, TaskFailedError, TaskTimeoutError,
    VSphereError)

DEFAULT_TIMEOUT = 60.0
SETTINGS = "/api/esx/settings"
_MAX_BODY = 32 * 1024 * 1024

__all__ = ["VlcmClient", "CERT_HINT", "HAS_REQUESTS", "REQUESTS_IMPORT_ERROR", "SESSION_HEADER", "error_messages",
           "host_image_managed"]

Query = Sequence[Tuple[str, str]]
ProgressFn = Callable[[Dict[str, Any]], None]


def error_messages(body: Any) -> List[str]:
    """The ``default_message`` texts of an ``/api`` error body (``{"error_type": ..., "messages": [...]}``)."""
    out: List[str] = []
    if isinstance(body, dict):
        for m in body.get("messages") or ():
            if isinstance(m, dict) and m.get("default_message"):
                out.append(str(m["default_message"]))
    return out


def _q(ident: str) -> str:
    return quote(str(ident), safe="")


class VlcmClient(RestSession):
    """One REST session to a vCenter for vLCM. ``with VlcmClient(...) as c:`` logs in and out (unless the session
    is cached: ``session_cache``)."""

    LABEL = "vLCM"
    WHAT_FOR = "vLCM"
    USER_AGENT = "fleetpatch.esxi vLCM client"
    CACHE_KIND = "api"
    SESSION_URL = "/api/session"
    MAX_BODY = _MAX_BODY

    @classmethod
    def from_params(cls, params: Dict[str, Any], **kwargs: Any) -> "VlcmClient":
        """A client from a module's connection options (``_ansible.argspec.connection_argument_spec``)."""
        options = cls._connection_kwargs(params)
        options.update(kwargs)
        return cls(params.get("hostname") or "", params.get("username"), params.get("password"), **options)

    def _send(self, method: str, url: str, body: Any = None, auth: Optional[Tuple[str, str]] = None,
              what: str = "") -> Tuple[int, Any]:
        """One HTTP exchange; returns (status, parsed JSON or None). Network and TLS faults are raised."""
        return self._exchange(method, url, body=body, auth=auth, what=what)

    def _fail(self, what: str, status: int, body: Any, login: bool = False) -> VSphereError:
        kind = body.get("error_type") if isinstance(body, dict) else None
        texts = error_messages(body)
        detail = self._redact("HTTP %s%s%s" % (status, " %s" % kind if kind else "",
                                               ": %s" % " ".join(texts) if texts else ""))
        extra: Dict[str, Any] = {"http_status": status, "vapi_error": kind, "vcenter_messages": texts}
        if status == 401 and login:
            return AuthenticationError("vLCM login as %s refused: incorrect user name or password (%s)"
                                       % (self.username, detail), host=self.endpoint, **extra)
        if status == 401:
            return ConnectionFailedError("vLCM: %s refused: the session is no longer valid (%s)" % (what, detail),
                                         host=self.endpoint, session_lost=True, **extra)
        if status == 403 or kind == "UNAUTHORIZED":
            return VSphereError("vLCM: %s refused: permission denied for user %s (%s)" % (what, self.username, detail),
                                host=self.endpoint, **extra)
        if status == 404 or kind == "NOT_FOUND":
            return NotFoundError("vLCM: %s: not found (%s)" % (what, detail), host=self.endpoint, **extra)
        return VSphereError("vLCM: %s failed: %s" % (what, detail), host=self.endpoint, **extra)

    def call(self, method: str, path: str, query: Optional[Query] = None, body: Any = None, what: str = "") -> Any:
        """One operation on the session; returns the parsed answer (None for 204). Logs in again once if the
        server lost the session (401)."""
        what = what or "%s %s" % (method, path)
        url = "https://%s%s" % (self.endpoint, path)
        if query:
            url += "?" + urlencode(list(query))
        return self._request(method, url, body=body, what=what)

    def connect(self) -> "VlcmClient":
        """Log in, or take the cached session (idempotent)."""
        super().connect()
        return self

    def __enter__(self) -> "VlcmClient":
        return self.connect()

    # ---- clusters ----------------------------------------------------------------------------------
    def find_cluster(self, name: str) -> Dict[str, Any]:
        """The cluster summary {cluster, name, drs_enabled, ha_enabled} of the cluster named ``name``."""
        found = self.call("GET", "/api/vcenter/cluster", query=[("names", name)], what="find cluster %s" % name) or []
        if not found:
            raise NotFoundError("cluster %s not found in vCenter" % name, host=self.endpoint, cluster=name)
        if len(found) > 1:
            raise InputError("cluster name %s is ambiguous: %d clusters (in different datacenters) have it"
                             % (name, len(found)), host=self.endpoint, cluster=name)
        return dict(found[0])

    def image_managed(self, cluster: str) -> bool:
        """Whether the cluster (id) is managed with a single image."""
        info = self.call("GET", "%s/clusters/%s/enablement/software" % (SETTINGS, _q(cluster)),
                         what="read the image management of cluster %s" % cluster)
        return bool(isinstance(info, dict) and info.get("enabled"))

    def software(self, cluster: str) -> Dict[str, Any]:
        return dict(self.call("GET", "%s/clusters/%s/software" % (SETTINGS, _q(cluster)),
                              what="read the desired image of cluster %s" % cluster) or {})

    def compliance(self, cluster: str) -> Dict[str, Any]:
        return dict(self.call("GET", "%s/clusters/%s/software/compliance" % (SETTINGS, _q(cluster)),
                              what="read the image compliance of cluster %s" % cluster) or {})

    def export_spec(self, cluster: str) -> Dict[str, Any]:
        """The desired image as a software specification document (``?action=export``, then its download)."""
        what = "export the image of cluster %s" % cluster
        urls = self.call("POST", "%s/clusters/%s/software" % (SETTINGS, _q(cluster)), query=[("action", "export")],
                         body={"export_software_spec": True, "export_iso_image": False,
                               "export_offline_bundle": False}, what=what) or {}
        url = urls.get("SOFTWARE_SPEC") if isinstance(urls, dict) else None
        if not url:
            raise VSphereError("vLCM: %s: no software specification URL in the answer" % what, host=self.endpoint)
        if urlsplit(url).hostname not in (self.hostname, self.hostname.strip("[]")):
            raise VSphereError("vLCM: %s: the export URL points to another server (%s)"
                               % (what, urlsplit(url).hostname), host=self.endpoint)
        status, parsed = self._send("GET", url, what=what)
        if status != 200 or not isinstance(parsed, dict):
            raise self._fail(what, status, parsed)
        return parsed

    def apply_policy(self, cluster: str) -> Dict[str, Any]:
        """The cluster's configured remediation policy (EsxSettingsClustersPoliciesApplyConfiguredPolicySpec)."""
        return dict(self.call("GET", "%s/clusters/%s/policies/apply" % (SETTINGS, _q(cluster)),
                              what="read the remediation policy of cluster %s" % cluster) or {})

    def set_apply_policy(self, cluster: str, policy: Dict[str, Any]) -> None:
        self.call("PUT", "%s/clusters/%s/policies/apply" % (SETTINGS, _q(cluster)), body=policy,
                  what="set the remediation policy of cluster %s" % cluster)

    # ---- drafts ------------------------------------------------------------------------------------
    def _draft(self, cluster: str, draft: str, tail: str = "") -> str:
        return "%s/clusters/%s/software/drafts/%s%s" % (SETTINGS, _q(cluster), _q(draft), tail)

    def create_draft(self, cluster: str) -> str:
        return str(self.call("POST", "%s/clusters/%s/software/drafts" % (SETTINGS, _q(cluster)),
                             what="create a draft of cluster %s" % cluster))

    def list_drafts(self, cluster: str) -> Dict[str, Any]:
        return dict(self.call("GET", "%s/clusters/%s/software/drafts" % (SETTINGS, _q(cluster)),
                              what="list the drafts of cluster %s" % cluster) or {})

    def delete_draft(self, cluster: str, draft: str) -> None:
        self.call("DELETE", self._draft(cluster, draft), what="delete draft %s of cluster %s" % (draft, cluster))

    def set_base_image(self, cluster: str, draft: str, version: str) -> None:
        self.call("PUT", self._draft(cluster, draft, "/software/base-image"), body={"version": version},
                  what="set base image %s in draft %s" % (version, draft))

    def set_add_on(self, cluster: str, draft: str, name: str, version: str) -> None:
        self.call("PUT", self._draft(cluster, draft, "/software/add-on"), body={"name": name, "version": version},
                  what="set add-on %s %s in draft %s" % (name, version, draft))

    def delete_add_on(self, cluster: str, draft: str) -> None:
        self.call("DELETE", self._draft(cluster, draft, "/software/add-on"),
                  what="remove the add-on in draft %s" % draft)

    def update_components(self, cluster: str, draft: str, to_set: Dict[str, str], to_delete: List[str]) -> None:
        body: Dict[str, Any] = {}
        if to_set:
            body["components_to_set"] = dict(to_set)
        if to_delete:
            body["components_to_delete"] = list(to_delete)
        self.call("PATCH", self._draft(cluster, draft, "/software/components"), body=body,
                  what="update the components of draft %s" % draft)

    def set_hardware_support(self, cluster: str, draft: str, packages: Dict[str, Any]) -> None:
        self.call("PUT", self._draft(cluster, draft, "/software/hardware-support"), body={"packages": packages},
                  what="set the hardware support of draft %s" % draft)

    def delete_hardware_support(self, cluster: str, draft: str) -> None:
        self.call("DELETE", self._draft(cluster, draft, "/software/hardware-support"),
                  what="remove the hardware support of draft %s" % draft)

    def validate_draft(self, cluster: str, draft: str) -> str:
        return str(self.call("POST", self._draft(cluster, draft), query=[("action", "validate"), ("vmw-task", "true")],
                             what="validate draft %s of cluster %s" % (draft, cluster)))

    def commit_draft(self, cluster: str, draft: str, message: str) -> str:
        return str(self.call("POST", self._draft(cluster, draft), query=[("action", "commit"), ("vmw-task", "true")],
                             body={"message": message}, what="commit draft %s of cluster %s" % (draft, cluster)))

    # ---- check / apply / tasks ---------------------------------------------------------------------
    def check(self, cluster: str, hosts: Optional[List[str]] = None) -> str:
        body: Dict[str, Any] = {"hosts": list(hosts)} if hosts else {}
        return str(self.call("POST", "%s/clusters/%s/software" % (SETTINGS, _q(cluster)),
                             query=[("action", "check"), ("vmw-task", "true")], body=body,
                             what="check cluster %s" % cluster))

    def apply(self, cluster: str, hosts: Optional[List[str]] = None, accept_eula: bool = False,
              commit: Optional[str] = None) -> str:
        body: Dict[str, Any] = {"accept_eula": bool(accept_eula)}
        if hosts:
            body["hosts"] = list(hosts)
        if commit:
            body["commit"] = commit
        return str(self.call("POST", "%s/clusters/%s/software" % (SETTINGS, _q(cluster)),
                             query=[("action", "apply"), ("vmw-task", "true")], body=body,
                             what="remediate cluster %s" % cluster))

    def task(self, task: str) -> Dict[str, Any]:
        return dict(self.call("GET", "/api/cis/tasks/%s" % _q(task), what="read task %s" % task) or {})

    def wait_task(self, task: str, what: str, timeout: float = 3600.0, poll: float = 0.5,
                  on_progress: Optional[ProgressFn] = None, fail: bool = True) -> Dict[str, Any]:
        """Follow a CIS task to its end. A FAILED task raises TaskFailedError with vCenter's messages (unless
        ``fail=False``); no end within ``timeout`` raises TaskTimeoutError."""
        deadline = time.monotonic() + timeout
        last: Optional[Tuple[Any, Any]] = None
        while True:
            info = self.task(task)
            prog = info.get("progress") or {}
            mark = (prog.get("completed"), (prog.get("message") or {}).get("default_message"))
            if on_progress is not None and mark != last:
                on_progress(info)
                last = mark
            status = info.get("status")
            if status == "SUCCEEDED":
                return info
            if status == "FAILED":
                if fail:
                    raise TaskFailedError("vLCM: %s failed: %s"
                                          % (what, self._redact(info.get("error") or "(no message)")),
                                          host=self.endpoint, task=task, task_result=info.get("result"))
                return info
            if time.monotonic() >= deadline:
                raise TaskTimeoutError("vLCM: %s did not finish within %ss (task %s, last status %s, %s/%s done)"
                                       % (what, int(timeout), task, status, prog.get("completed"), prog.get("total")),
                                       host=self.endpoint, task=task)
            time.sleep(poll)

    # ---- depots ------------------------------------------------------------------------------------
    def online_depots(self) -> Dict[str, Any]:
        return dict(self.call("GET", SETTINGS + "/depots/online", what="list the online depots") or {})

    def add_online_depot(self, location: str, description: str = "", enabled: bool = True) -> str:
        body = {"location": location, "description": description, "enabled": enabled}
        return str(self.call("POST", SETTINGS + "/depots/online", body=body,
                             what="add online depot %s" % location))

    def update_online_depot(self, depot: str, enabled: Optional[bool] = None,
                            description: Optional[str] = None) -> None:
        body: Dict[str, Any] = {}
        if enabled is not None:
            body["enabled"] = enabled
        if description is not None:
            body["description"] = description
        self.call("PATCH", "%s/depots/online/%s" % (SETTINGS, _q(depot)), body=body,
                  what="update online depot %s" % depot)

    def delete_online_depot(self, depot: str) -> None:
        self.call("DELETE", "%s/depots/online/%s" % (SETTINGS, _q(depot)), what="remove online depot %s" % depot)

    def offline_depots(self) -> Dict[str, Any]:
        return dict(self.call("GET", SETTINGS + "/depots/offline", what="list the offline depots") or {})

    def import_offline_depot(self, location: str, description: str = "") -> str:
        return str(self.call("POST", SETTINGS + "/depots/offline", query=[("vmw-task", "true")],
                             body={"source_type": "PULL", "location": location, "description": description},
                             what="import offline depot %s" % location))

    def delete_offline_depot(self, depot: str) -> None:
        self.call("DELETE", "%s/depots/offline/%s" % (SETTINGS, _q(depot)), what="remove offline depot %s" % depot)

    def sync_depots(self) -> str:
        return str(self.call("POST", SETTINGS + "/depots", query=[("action", "sync"), ("vmw-task", "true")],
                             what="synchronize the depots"))

    def depot_content(self, kind: str) -> List[Dict[str, Any]]:
        """``kind``: base-images, add-ons or components."""
        return list(self.call("GET", "%s/depot-content/%s" % (SETTINGS, kind), what="list the depot %s" % kind) or [])


# ---- the SOAP side: is a host's cluster image-managed? ----------------------------------------------------------
def host_image_managed(client: Any, host: Any) -> Optional[bool]:
    """Whether the cluster of ``host`` (a ``VSphereClient`` host handle) is managed with a single image: vCenter's
    ``ComputeResource.lifecycleManaged`` (vSphere API 7.0 and later). False for a host in no cluster; None when it
    cannot be told (connected to an ESXi host directly, or a vCenter that does not have the property)."""
    if not getattr(client, "is_vcenter", False):
        return None
    try:
        nodes = client._load_inventory()["nodes"]
        parent = nodes.get((nodes.get(host.moid) or {}).get("parent"))
        if parent is None or parent["kind"] != "ClusterComputeResource":
            return False
        # the property collector by path: pyVmomi refuses attribute access to properties newer than the
        # negotiated API version, the server answers for the path
        from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import vim
        rows = client._retrieve([(vim.ClusterComputeResource, ["lifecycleManaged"])], objects=[parent["obj"]])
        value = rows[0][1].get("lifecycleManaged") if rows else None
    except Exception:  # pylint: disable=broad-except
        return None         # the property is missing on vCenter 6.x, or the read failed: unknown, never a guess
    return None if value is None else bool(value)
