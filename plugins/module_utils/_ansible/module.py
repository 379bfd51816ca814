# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: Ansible-side glue shared by the modules. Breaking changes at any time.

This is the only module_utils file (besides the argument spec) that imports ``ansible.module_utils``.
A module's ``main()`` looks like::

    def main():
        module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
        require_libs(module, {"pyvmomi": (HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR)})
        protect_secrets(module, urls=[module.params["depot"]])
        partial = {"changed": False}
        run(module, lambda: do_the_work(module.params, module.check_mode, partial), partial=partial)

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
Messages of unexpected exceptions have URLs passed through ``redact_url`` and known secrets replaced.

Secrets
-------
Options declared ``no_log=True`` (``password``) are masked by Ansible already. ``protect_secrets()`` adds
secrets Ansible cannot know about to ``module.no_log_values``: credentials, secret query values and download
tokens inside URLs (depot URLs, proxy URLs) and any extra strings. Ansible then masks them in every result,
warning and log line of the module.
"""

from __future__ import annotations

import re
import traceback
from urllib.parse import parse_qsl, urlsplit

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import REDACTED, redact_text, redact_url


_RESERVED = ("failed", "msg", "exception")
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_MIN_SECRET_LEN = 3


# ---- running a module ------------------------------------------------------------------------------
def run(module, fn, partial=None, **extra):
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


def _warned(module, result):
    """Report a top-level ``warnings`` list of the library code through ``module.warn()`` (passing ``warnings``
    to ``exit_json``/``fail_json`` is deprecated in ansible-core 2.19) and return the result without it."""
    warnings = result.pop("warnings", None) or []
    for text in warnings if isinstance(warnings, (list, tuple)) else [warnings]:
        if text:
            module.warn(str(text))
    return result


def failure_result(error, partial=None, extra=None):
    """The keyword arguments for ``fail_json`` for a ``FleetpatchError`` (``msg`` included)."""
    details = dict(error.to_result())
    err_partial = details.pop("partial", None)
    if err_partial is None:
        err_partial = getattr(error, "partial", None)
    out = _merge(extra, partial, err_partial if isinstance(err_partial, dict) else None, details)
    out["msg"] = str(error)
    return out


def _merge(*sources):
    out = {}
    for src in sources:
        if src:
            out.update((k, v) for k, v in src.items() if k not in _RESERVED)
    out.setdefault("changed", False)
    return out


def _scrub(module, text):
    """Redact URLs and known secrets in free text (messages and tracebacks of unexpected errors)."""
    text = _URL_RE.sub(lambda m: redact_url(m.group(0)), text)
    return redact_text(text, getattr(module, "no_log_values", ()))


# ---- third-party libraries ---------------------------------------------------------------------------
def require_libs(module, libs):
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
def url_secrets(url):
    """The secret parts of ``url``: exactly what ``redact_url`` would hide (password, tokens, secret values)."""
    if not url:
        return set()
    text = str(url)
    found = set()
    try:
        parts = urlsplit(text)
    except ValueError:
        return found
    if parts.password:
        found.add(parts.password)
    redacted = redact_url(text)
    if redacted == text:
        return found
    try:
        rparts = urlsplit(redacted)
    except ValueError:  # pragma: no cover - redact_url output is a URL
        return found
    for seg, rseg in zip(parts.path.split("/"), rparts.path.split("/")):
        if rseg == REDACTED and seg != REDACTED:
            found.add(seg)
    if parts.query:
        orig = parse_qsl(parts.query, keep_blank_values=True)
        red = parse_qsl(rparts.query, keep_blank_values=True)
        for (_k, v), (_rk, rv) in zip(orig, red):
            if rv == REDACTED and v != REDACTED:
                found.add(v)
    return found


def protect_secrets(module, urls=(), values=()):
    """Add the secrets inside ``urls`` and the strings in ``values`` to ``module.no_log_values``.

    Strings shorter than 3 characters are ignored (they would mask unrelated output). Returns the set added.
    ``None`` entries are skipped, so ``protect_secrets(module, urls=[module.params.get("depot_url")])`` is fine.
    """
    added = set()
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
