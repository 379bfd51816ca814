# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: Ansible-side glue shared by the modules. Breaking changes at any time.

This (with the argument specs) is the only module_utils package that imports ``ansible.module_utils``.
A module's ``main()`` looks like::

    def main():
        module = FleetpatchModule(argument_spec(), libs={"pyvmomi": (HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR)},
                                  connection=True, secret_urls=("depot", "depot_url", "proxy"),
                                  supports_check_mode=True)
        module.run(lambda ctx: run_deploy(ctx.params, ctx.check_mode, ctx.diff_mode, partial=ctx.partial))

``FleetpatchModule`` declares once what every ``main()`` used to repeat: the argument spec, the third-party
libraries (``libs``), whether the vCenter/ESXi connection options are required (``connection``), the options
that carry secrets (``secret_urls``: URLs with tokens/credentials inside; ``secret_options``: plain strings),
and the first partial result (``partial``). ``module.run(fn)`` calls ``fn(ctx)`` with a ``ModuleContext``
(``params``, ``check_mode``, ``diff_mode``, ``warn``, ``partial``) and reports the result or the error once.
No module reads ``module._diff``.

Secrets by construction
-----------------------
Ansible logs the invocation (syslog/journal ``Invoked with ...``) inside ``AnsibleModule.__init__``, right
after argument validation and before any code of the module runs, so registering secrets after ``__init__``
is too late. ``FleetpatchModule`` overrides ``_log_invocation`` (the hook ``__init__`` calls):

1. the secret parts of every ``secret_urls`` option (``url_secrets``: passwords, every query value, token path
   segments; see ``_common/secrets.py``) and the values of ``secret_options`` go to ``no_log_values`` first;
2. the logged copy of the parameters holds ``redact_url(url)`` for each URL option, so the URL is masked by its
   structure whatever the length of its secret parts (``no_log_values`` only replaces strings of 3 characters
   or more: a shorter one would mask unrelated text);
3. ``warn`` passes every warning through ``redact`` (ansible-core 2.19 does not mask warnings with
   ``no_log_values``: they travel as ``WarningSummary`` objects that ``remove_values`` does not look into);
4. ``exit_json``/``fail_json`` (also a failure of argument validation, which happens before step 1) register
   the same secrets and report ``invocation.module_args`` with the masked URLs.

Failed results (``run``)
------------------------
``run(module, fn, partial=None, **extra)`` calls ``fn()``, which returns the result dict; ``changed`` defaults
to ``False``. On success it calls ``module.exit_json(**result)``. On failure it calls ``module.fail_json``
exactly once with a result built from, in increasing precedence (later sources win on the same key):

1. ``extra``: fixed keys for every failed result of this call (for example ``host=...``);
2. ``partial``: a dict owned by the caller, which ``fn`` may fill in while it works (for example the hosts
   already patched, ``changed=True`` once something was modified). Its content *at the time of the failure*
   is used, so progress made before the error is reported;
3. the error's own partial result, for a ``FleetpatchError``: ``error.details["partial"]`` (that is,
   ``raise TaskFailedError("...", host=h, partial={"changed": True, "installed": [...]})``) or an attribute
   ``error.partial``; a dict whose keys go to the top level of the result (not under ``partial``);
4. ``error.to_result()`` (``error_kind``, ``source``, ``host`` and the other JSON-safe details);
5. ``msg``: ``str(error)`` for a ``FleetpatchError``; ``"Unexpected error: <text>"`` plus
   ``exception=<traceback>`` for any other exception (a bug: the traceback is wanted then).

``failed``, ``msg`` and ``exception`` are reserved; ``changed`` is always present (default ``False``).
Messages of unexpected exceptions pass through the one redactor (``_common.secrets.redact``).
"""

from __future__ import annotations

import traceback
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Set, Tuple

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import require_connection
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import (
    redact, redact_url, runtime_secrets, url_secrets)

__all__ = ["FleetpatchModule", "ModuleContext", "failure_result", "protect_secrets", "require_libs", "run",
           "url_secrets"]

_RESERVED = ("failed", "msg", "exception")
_MIN_SECRET_LEN = 3

LibSpec = Mapping[str, Sequence[Any]]
# ``libs`` is a LibSpec or a function of the validated params returning one (a library needed for some options only).
Libs = Any


# ---- the module wrapper ------------------------------------------------------------------------------
class ModuleContext:
    """What a backend may know about the module: options, check/diff mode, the warning channel, the partial
    result it fills in while it works (reported if it fails)."""

    def __init__(self, params: Dict[str, Any], check_mode: bool, diff_mode: bool, warn: Callable[[str], None],
                 partial: Dict[str, Any]) -> None:
        self.params = params
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.warn = warn
        self.partial = partial


class FleetpatchModule(AnsibleModule):
    """``AnsibleModule`` with the collection's conventions declared once (see the module docstring)."""

    params: Dict[str, Any]

    def __init__(self, argument_spec: Dict[str, Any], *, libs: Libs = None, connection: bool = False,
                 secret_urls: Iterable[str] = (), secret_options: Iterable[str] = (),
                 partial: Optional[Dict[str, Any]] = None, **kwargs: Any) -> None:
        # Set before AnsibleModule.__init__: it logs the invocation (our _log_invocation) and may fail_json.
        self._fp_secret_urls: Tuple[str, ...] = tuple(secret_urls)
        self._fp_secret_options: Tuple[str, ...] = tuple(secret_options)
        super().__init__(argument_spec=argument_spec, **kwargs)
        self.protect_declared_secrets()
        if callable(libs):
            libs = libs(self.params)
        if libs:
            require_libs(self, libs)
        if connection:
            require_connection(self)
        self.partial: Dict[str, Any] = dict(partial) if partial else {}
        self.partial.setdefault("changed", False)

    # -- secrets --
    def protect_declared_secrets(self) -> Set[str]:
        """Register the secrets of the declared options in ``no_log_values`` (idempotent)."""
        params = getattr(self, "params", None) or {}
        urls = [params.get(name) for name in self._fp_secret_urls]
        values = [params.get(name) for name in self._fp_secret_options]
        # and the secrets issued at run time (session ids of the session cache, registered by the client layer)
        values.extend(sorted(runtime_secrets()))
        return protect_secrets(self, urls=urls, values=[v for v in values if isinstance(v, str)])

    def safe_params(self) -> Dict[str, Any]:
        """A copy of ``params`` fit for logs: URL options redacted by structure, secret options masked."""
        out = dict(getattr(self, "params", None) or {})
        for name in self._fp_secret_urls:
            out[name] = _redact_urls(out.get(name))
        for name in self._fp_secret_options:
            if out.get(name) is not None:
                out[name] = "NOT_LOGGING_PARAMETER"
        return out

    def _log_invocation(self) -> None:
        self.protect_declared_secrets()
        params = self.params
        self.params = self.safe_params()
        try:
            super()._log_invocation()
        finally:
            self.params = params

    def warn(self, warning: str) -> None:
        """``AnsibleModule.warn`` through the one redactor: ansible-core 2.19 does not pass warnings (kept as
        ``WarningSummary`` objects) through ``no_log_values``, so a URL in a warning would be printed in clear."""
        super().warn(redact(warning, self.no_log_values) or "")

    def exit_json(self, **kwargs: Any) -> Any:
        self.protect_declared_secrets()
        kwargs.setdefault("invocation", {"module_args": self.safe_params()})
        return super().exit_json(**kwargs)

    def fail_json(self, msg: str, **kwargs: Any) -> Any:
        self.protect_declared_secrets()
        kwargs.setdefault("invocation", {"module_args": self.safe_params()})
        return super().fail_json(msg, **kwargs)

    # -- running --
    @property
    def diff_mode(self) -> bool:
        """``--diff`` (the one place that reads ``AnsibleModule._diff``)."""
        return bool(self._diff)

    def context(self) -> ModuleContext:
        return ModuleContext(self.params, self.check_mode, self.diff_mode, self.warn, self.partial)

    def run(self, fn: Callable[[ModuleContext], Optional[Dict[str, Any]]], **extra: Any) -> None:
        """Call ``fn(ctx)`` and report its result or its error once (``run`` below). Never returns."""
        ctx = self.context()
        run(self, lambda: fn(ctx), partial=self.partial, **extra)


def _redact_urls(value: Any) -> Any:
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, (list, tuple)):
        return [redact_url(v) if isinstance(v, str) else v for v in value]
    return value


# ---- running a module ------------------------------------------------------------------------------
def run(module: AnsibleModule, fn: Callable[[], Optional[Dict[str, Any]]], partial: Optional[Dict[str, Any]] = None,
        **extra: Any) -> None:
    """Call ``fn()`` and report its result dict (``exit_json``) or its error (``fail_json``), once.

    See the module docstring for how the failed result is built. Never returns.
    """
    try:
        result = fn()
    except FleetpatchError as e:
        module.fail_json(**_warned(module, failure_result(e, partial=partial, extra=extra)))
    except Exception as e:  # pylint: disable=broad-except
        failed = _merge(extra, partial)
        failed["msg"] = "Unexpected error: %s" % _scrub(module, to_native(e))
        failed["exception"] = _scrub(module, traceback.format_exc())
        module.fail_json(**_warned(module, failed))
    out = dict(result or {})
    out.setdefault("changed", False)
    module.exit_json(**_warned(module, out))


def _warned(module: AnsibleModule, result: Dict[str, Any]) -> Dict[str, Any]:
    """Report a top-level ``warnings`` list of the library code through ``module.warn()`` (passing ``warnings``
    to ``exit_json``/``fail_json`` is deprecated in ansible-core 2.19) and return the result without it."""
    warnings = result.pop("warnings", None) or []
    for text in warnings if isinstance(warnings, (list, tuple)) else [warnings]:
        if text:
            module.warn(redact(str(text), getattr(module, "no_log_values", ())) or "")
    return result


def failure_result(error: FleetpatchError, partial: Optional[Dict[str, Any]] = None,
                   extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The keyword arguments for ``fail_json`` for a ``FleetpatchError`` (``msg`` included)."""
    details = dict(error.to_result())
    err_partial = details.pop("partial", None)
    if err_partial is None:
        err_partial = getattr(error, "partial", None)
    out = _merge(extra, partial, err_partial if isinstance(err_partial, dict) else None, details)
    out["msg"] = str(error)
    return out


def _merge(*sources: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for src in sources:
        if src:
            out.update((k, v) for k, v in src.items() if k not in _RESERVED)
    out.setdefault("changed", False)
    return out


def _scrub(module: AnsibleModule, text: str) -> str:
    """Redact URLs and known secrets in free text (messages and tracebacks of unexpected errors)."""
    return redact(text, getattr(module, "no_log_values", ())) or ""


# ---- third-party libraries ---------------------------------------------------------------------------
def require_libs(module: AnsibleModule, libs: LibSpec) -> None:
    """Fail the module if a guarded import failed.

    ``libs`` maps the pip name to ``(HAS_LIB, IMPORT_TRACEBACK)`` or ``(HAS_LIB, IMPORT_TRACEBACK, url)``,
    as recorded by the ``try/except ImportError`` guard at the import site. All missing libraries are named
    in one message; the first one's import traceback is returned as ``exception``.
    """
    missing = []
    first_tb = None
    url = None
    for name, spec in libs.items():
        has, tb = spec[0], spec[1]
        if not has:
            missing.append(name)
            if first_tb is None:
                first_tb = tb
                url = spec[2] if len(spec) > 2 else None
    if missing:
        module.fail_json(msg=missing_required_lib(", ".join(missing), url=url), exception=first_tb)


# ---- secrets -----------------------------------------------------------------------------------------
def protect_secrets(module: AnsibleModule, urls: Iterable[Any] = (), values: Iterable[Any] = ()) -> Set[str]:
    """Add the secrets inside ``urls`` and the strings in ``values`` to ``module.no_log_values``.

    Strings shorter than 3 characters are not registered (Ansible would mask them in every unrelated text);
    URLs are masked by structure anyway wherever this collection shows them (``redact_url``). Returns the set
    added. ``None`` entries are skipped, lists of URLs are walked.
    """
    added: Set[str] = set()
    for url in urls or ():
        if isinstance(url, (list, tuple)):
            for u in url:
                added |= url_secrets(u)
        elif url:
            added |= url_secrets(url)
    for v in values or ():
        if v:
            added.add(to_native(v))
    added = {s for s in added if len(s) >= _MIN_SECRET_LEN}
    module.no_log_values.update(added)
    return added
