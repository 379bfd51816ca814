# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: pyVmomi import guard, fault translation and the task waiter. Breaking changes at any time.

This is the lowest layer of ``clients/``: ``_vsphere``, ``_esxcli`` and ``_datastore`` build on it.

- ``HAS_PYVMOMI`` / ``PYVMOMI_IMPORT_ERROR``: modules call ``missing_required_lib("pyVmomi")`` with the
  traceback when pyVmomi is missing; library code calls ``require_pyvmomi()``.
- ``translate(exc, ...)``: every pyVmomi fault and socket/TLS error becomes one of the collection's exceptions
  (``_errors.py``), with a message that names the host and never a secret.
- ``wait_for_task(task, ...)``: polls ``Task.info`` with capped exponential backoff and jitter until the task
  ends; returns the (pyVmomi) result to the caller *inside* the client layer, raises ``TaskFailedError`` with
  the fault's type and message, ``TaskTimeoutError``, or ``ConnectionFailedError``/``HostNotConnectedError``
  when the connection or the host goes away while waiting.
"""

from __future__ import annotations

import functools
import http.client
import random
import socket
import ssl
import time
from typing import Dict, Any, Callable, Iterator, Optional, Tuple, TypeVar, Iterable

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, ConnectionFailedError, FleetpatchError, HostNotConnectedError, NotFoundError, TaskFailedError,
    TaskTimeoutError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import redact  # the one redactor

try:
    from pyVmomi import vim, vmodl  # noqa: F401  (re-exported for the other client modules)
    HAS_PYVMOMI = True
    PYVMOMI_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the controller
    import traceback as _traceback
    vim = vmodl = None  # type: ignore[assignment]
    HAS_PYVMOMI = False
    PYVMOMI_IMPORT_ERROR = _traceback.format_exc()


def require_pyvmomi() -> None:
    """Raise ``VSphereError`` with install advice when pyVmomi cannot be imported."""
    if not HAS_PYVMOMI:
        raise VSphereError("the Python library pyVmomi is required to talk to vCenter/ESXi "
                           "(pip install pyvmomi)", import_error=PYVMOMI_IMPORT_ERROR)


def endpoint_label(hostname: str, port: int) -> str:
    """``host:port`` as messages and results name a vCenter/ESXi endpoint; IPv6 literals in brackets."""
    host = str(hostname)
    return "%s:%s" % ("[%s]" % host if ":" in host else host, port)


# ---- fault translation -------------------------------------------------------------------------

CERT_HINT = ("certificate verification failed; this is a TLS certificate problem, not a login problem. "
             "Give the CA bundle that signed the server certificate (ca_path, REQUESTS_CA_BUNDLE or "
             "SSL_CERT_FILE), or set validate_certs: false for lab hosts only")

# Errors raised by the socket/HTTP layer when the peer is unreachable or went away.
_NETWORK_ERRORS = (ConnectionError, socket.timeout, TimeoutError, socket.gaierror, socket.herror,
                   http.client.HTTPException, ssl.SSLError, OSError)


def fault_name(exc: Any) -> str:
    """The WSDL name of a vmodl fault (``InvalidLogin``), else the Python class name."""
    return getattr(exc, "_wsdlName", None) or type(exc).__name__


def fault_message(exc: Any) -> str:
    """The human text of a vmodl fault or any exception (``msg``, ``faultMessage``, ``text``, ``reason`` ...)."""
    parts = []
    msg = getattr(exc, "msg", None)
    if msg:
        parts.append(str(msg))
    for lm in getattr(exc, "faultMessage", None) or ():
        text = getattr(lm, "message", None)
        if text and text not in parts:
            parts.append(str(text))
    for attr in ("text", "reason"):
        val = getattr(exc, attr, None)
        if val and isinstance(val, str) and val not in parts:
            parts.append(val)
    prop = getattr(exc, "invalidProperty", None)
    if prop:
        parts.append("invalid property: %s" % prop)
    cause = getattr(exc, "faultCause", None)
    if cause is not None and cause is not exc:
        sub = fault_message(cause)
        if sub:
            parts.append("caused by %s: %s" % (fault_name(cause), sub))
    if not parts and not _is_vmodl_fault(exc):
        text = str(exc)
        if text:
            parts.append(text)
    return "; ".join(p.strip() for p in parts if p and p.strip())


def _is_vmodl_fault(exc: Any) -> bool:
    return HAS_PYVMOMI and isinstance(exc, vmodl.MethodFault)


def is_connection_error(exc: BaseException) -> bool:
    """True for socket/HTTP/TLS errors (host unreachable, connection dropped), not for SOAP faults."""
    return isinstance(exc, _NETWORK_ERRORS) and not _is_vmodl_fault(exc)


def is_session_lost(exc: BaseException) -> bool:
    """True when the SOAP session is no longer valid (hostd restarted, session expired)."""
    return HAS_PYVMOMI and isinstance(exc, vim.fault.NotAuthenticated)


def translate(exc: Any, host: Optional[str] = None, action: Optional[str] = None, secrets: Iterable[str] = (),
              endpoint: Optional[str] = None, in_task: bool = False) -> FleetpatchError:
    """Return the collection exception for ``exc`` (a pyVmomi fault or a network error).

    ``host`` labels the error (``esx1`` or ``vcenter:443``); ``action`` says what was being done
    ("install patches"); ``secrets`` are redacted from the message. Our own exceptions pass through unchanged.
    """
    if isinstance(exc, FleetpatchError):
        return exc
    what = ("%s failed: " % action) if action else ""
    name = fault_name(exc)
    details: Dict[str, Any] = {"fault_type": name}
    if endpoint and endpoint != host:
        details["endpoint"] = endpoint

    def _msg(text: str) -> str:
        return redact(what + text, secrets) or ""

    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = getattr(exc, "verify_message", None) or str(exc)
        return ConnectionFailedError(_msg("%s (%s)" % (CERT_HINT, reason)), host=host, certificate_error=True,
                                     **details)
    if isinstance(exc, ssl.SSLError):
        return ConnectionFailedError(_msg("TLS error: %s" % (exc.reason or exc)), host=host, **details)
    if isinstance(exc, socket.gaierror):
        return ConnectionFailedError(_msg("cannot resolve the host name (%s)" % exc), host=host, **details)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ConnectionFailedError(_msg("timed out talking to the server (%s)" % (exc or "timeout")), host=host,
                                     **details)
    if isinstance(exc, ConnectionRefusedError):
        return ConnectionFailedError(_msg("connection refused (nothing listens on that port, or a firewall "
                                          "rejects it)"), host=host, **details)
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                        ConnectionAbortedError)):
        return ConnectionFailedError(_msg("the connection was dropped by the server (%s); the host may be "
                                          "restarting" % (exc or name)), host=host, connection_lost=True,
                                     **details)
    if not _is_vmodl_fault(exc):
        if is_connection_error(exc):
            return ConnectionFailedError(_msg("%s: %s" % (name, exc)), host=host, **details)
        return VSphereError(_msg("%s: %s" % (name, exc)), host=host, **details)

    text = fault_message(exc) or name
    if isinstance(exc, vim.fault.InvalidLogin):
        return AuthenticationError(_msg("incorrect user name or password (%s)" % text), host=host,
                                   **details)
    if isinstance(exc, vim.fault.NotAuthenticated):
        return ConnectionFailedError(_msg("the session is no longer valid (%s); the host may have restarted "
                                          "or the session expired" % text), host=host, session_lost=True,
                                     **details)
    if isinstance(exc, vim.fault.NoPermission):
        priv = getattr(exc, "privilegeId", None)
        missing = [getattr(m, "privilegeId", None) for m in (getattr(exc, "missingPrivileges", None) or ())]
        privs = [p for p in [priv] + missing if p]
        return VSphereError(_msg("permission denied: the user lacks privilege %s (%s)"
                                 % (", ".join(sorted(set(privs))) or "unknown", text)),
                            host=host, privilege=privs[0] if privs else None, **details)
    if isinstance(exc, (vmodl.fault.HostNotConnected, vmodl.fault.HostNotReachable)):
        return HostNotConnectedError(_msg("the host is not connected to vCenter (%s)" % text), host=host,
                                     **details)
    if isinstance(exc, vim.fault.HostConnectFault):
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return ConnectionFailedError(_msg("%s (%s)" % (CERT_HINT, text)), host=host, certificate_error=True,
                                         **details)
        return ConnectionFailedError(_msg(text), host=host, **details)
    if isinstance(exc, (vmodl.fault.ManagedObjectNotFound, vim.fault.NotFound)):
        return NotFoundError(_msg("%s (%s)" % (text, name)), host=host, **details)
    if isinstance(exc, vmodl.fault.MethodNotFound):
        return VSphereError(_msg("the server does not support this call (%s: %s)" % (name, text)), host=host,
                            **details)
    if in_task:
        return TaskFailedError(_msg("%s: %s" % (name, text)), host=host, **details)
    return VSphereError(_msg("%s: %s" % (name, text)), host=host, **details)


# ---- backoff ------------------------------------------------------------------------------------

def backoff_delays(initial: float = 0.2, maximum: float = 5.0, factor: float = 1.6, jitter: float = 0.2,
                   rng: Callable = random.random) -> Iterator[float]:
    """Endless generator of sleep times: ``initial * factor**n`` capped at ``maximum``, +/- ``jitter`` fraction."""
    delay = float(initial)
    while True:
        j = 1.0 + jitter * (2.0 * rng() - 1.0)
        yield max(0.0, min(maximum, delay) * j)
        delay = min(maximum, delay * factor)


T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def poll_until(deadline: float, delays: Iterator[float], probe: Callable[[], Optional[T]],
               on_timeout: Callable[[], BaseException], sleep: Callable[[float], Any] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> T:
    """The one polling loop of the client: call ``probe()`` until it returns something other than None and
    return that; between calls sleep the next of ``delays`` (``backoff_delays()``), never past ``deadline`` (a
    ``clock()`` value). At the deadline raise ``on_timeout()``. ``probe`` raises to stop early."""
    while True:
        result = probe()
        if result is not None:
            return result
        now = clock()
        if now >= deadline:
            raise on_timeout()
        sleep(min(next(delays), max(0.0, deadline - now)))


def vsphere_call(action: str) -> Callable[[F], F]:
    """Decorator for client methods (the amazon.aws ``AWSErrorHandler`` pattern): any exception that is not
    already the collection's becomes one through ``translate``, saying ``action`` failed and naming the host (the
    method's ``host`` argument, first positional or keyword, when it is a ``Host``; else the endpoint)::

        @vsphere_call("list datastores")
        def _datastore_rows(self, host=None):
            ...

    The method's object must have ``_err(exc, action, host=None)`` (``VSphereClient`` has)."""
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except FleetpatchError:
                raise
            except Exception as exc:
                host = kwargs["host"] if "host" in kwargs else (args[0] if args else None)
                raise self._err(exc, action, host=getattr(host, "label", None)) from exc
        return wrapper  # type: ignore[return-value]
    return decorate


# ---- task waiting -------------------------------------------------------------------------------

TERMINAL_STATES = ("success", "error")


_TASK_PATHS = ["info.state", "info.error", "info.result", "info.progress"]


def _task_snapshot(task: Any, collector: Any) -> Tuple[Any, Any, Any, Any]:
    """(state, error, result, progress) of a task through the property collector. Reading only these paths
    (not the whole ``info``) keeps a malformed ``info.entity`` from breaking the wait."""
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=task, skip=False)],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.Task, pathSet=_TASK_PATHS, all=False)])
    res = collector.RetrievePropertiesEx(specSet=[spec], options=vmodl.query.PropertyCollector.RetrieveOptions())
    props = {}
    for oc in (getattr(res, "objects", None) or ()):
        props.update({p.name: p.val for p in oc.propSet or ()})
    return props.get("info.state"), props.get("info.error"), props.get("info.result"), props.get("info.progress")


def wait_for_task(task: Any, timeout: float = 3600, host: Optional[str] = None, action: Optional[str] = None,
                  poll_initial: float = 0.1, poll_max: float = 5.0, secrets: Iterable[str] = (),
                  endpoint: Optional[str] = None, collector: Any = None, sleep: Callable[[float], Any] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> Any:
    """Wait for a vim Task; return ``task.info.result``.

    Raises ``TaskFailedError`` (fault type and message in ``details``), ``TaskTimeoutError`` after ``timeout``
    seconds (the task keeps running on the server), ``ConnectionFailedError`` when the connection drops or the
    session dies while waiting (the outcome is then unknown) and ``HostNotConnectedError`` when vCenter lost the
    host.
    """
    require_pyvmomi()
    label = action or "task"
    task_id = getattr(task, "_moId", None)
    last: dict = {"state": None, "progress": None}
    pc = [collector]

    def probe() -> Optional[Tuple[Any]]:
        try:
            if pc[0] is None:
                pc[0] = vim.ServiceInstance("ServiceInstance", task._stub).RetrieveContent().propertyCollector
            state, fault, result, last["progress"] = _task_snapshot(task, pc[0])
        except Exception as exc:  # the connection or the session went away while polling
            err = translate(exc, host=host, action=label, secrets=secrets, endpoint=endpoint)
            extra = {} if "task" in err.details else {"task": task_id}
            raise err.with_context(msg=err.msg + " (while waiting for task %s; its outcome is unknown)" % task_id,
                                   outcome_unknown=True, **extra) from exc
        last["state"] = state
        if state == "success":
            return (result,)
        if state == "error":
            err = translate(fault, host=host, action=label, secrets=secrets, endpoint=endpoint, in_task=True)
            if err.kind == VSphereError.kind and "privilege" not in err.details:  # the generic class, not a subclass
                err = TaskFailedError(err.msg, host=host, **err.details)
            extra = {k: v for k, v in (("task", task_id), ("fault_message", redact(fault_message(fault), secrets)
                                                           if fault else None))
                     if k not in err.details}
            raise err.with_context(**extra) if extra else err
        return None

    def timed_out() -> TaskTimeoutError:
        state, progress = last["state"], last["progress"]
        return TaskTimeoutError(
            "%s did not finish within %ss (task %s still %s%s); it may still complete on the server"
            % (label, timeout, task_id, state, (", %s%%" % progress) if progress is not None else ""),
            host=host, task=task_id, state=state, progress=progress)

    return poll_until(clock() + float(timeout), backoff_delays(initial=poll_initial, maximum=poll_max), probe,
                      timed_out, sleep=sleep, clock=clock)[0]
