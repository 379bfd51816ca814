# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate vSphere Automation REST exchanges against VMware's own Swagger 2.0 descriptions.

The specs are the files of ``tests/fixtures/vmware-api-specs/`` (VMware's, as vendored by vmware.vmware_rest; see
SOURCES.md there). ``ApiSpec`` loads them and

* ``match(method, url)`` finds the ONE operation of the specs a request is: the HTTP method, the path template
  (``{cluster}`` matches one path segment) and the query. In these files ``?action=check&vmw-task=true`` is part
  of the path key: such fixed query parameters must all be present with those values; every other query
  parameter of the request must be a declared ``in: query`` parameter of the operation (its type is checked).
  No operation, or two equally specific ones, raise ``SpecViolation``.
* ``validate_request(method, url, body, headers)`` checks the body against the ``in: body`` schema (no body where
  the operation takes none), and the session header where the operation requires ``session_id`` security.
* ``validate_response(method, url, status, body)`` checks that the status is one the operation declares and the
  body validates against that status's schema (no body where none is declared).

Schemas are checked with ``jsonschema`` (Draft 4, which Swagger 2.0 schemas are a dialect of) after one
tightening: an object schema that lists ``properties`` and says nothing about ``additionalProperties`` gets
``additionalProperties: false``, so a field the spec lacks is an error (a typo'd or invented field never passes).
Objects declared without properties (``type: object`` alone, e.g. a CIS task ``result``) stay open.
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

import jsonschema

SPEC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "vmware-api-specs")
SPEC_FILES = ("esx-8.0.2.json", "cis-8.0.2.json", "session-8.0.2.json", "vcenter-7.0.3.json")
SESSION_HEADER = "vmware-api-session-id"


class SpecViolation(AssertionError):
    """A request or response that is not what VMware's spec describes."""


def tighten(schema: Any) -> Any:
    """A copy of ``schema`` where every object schema with ``properties`` and no ``additionalProperties``
    forbids other properties."""
    if isinstance(schema, list):
        return [tighten(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for k, v in schema.items():
        if k in ("properties", "definitions"):
            out[k] = {name: tighten(sub) for name, sub in v.items()}
        elif k in ("example", "description", "x-vmw-doc"):
            out[k] = v
        else:
            out[k] = tighten(v)
    if "properties" in out and "additionalProperties" not in out and "$ref" not in out:
        out["additionalProperties"] = False
    return out


class Operation(object):
    """One operation of a spec file: method, path template, fixed query, parameters, responses."""

    def __init__(self, spec_name: str, method: str, key: str, op: Dict[str, Any]):
        self.spec_name = spec_name
        self.method = method.upper()
        self.key = key
        path, _, query = key.partition("?")
        self.path = path
        self.fixed_query = dict(parse_qsl(query, keep_blank_values=True))
        segments = path.strip("/").split("/")
        self.literals = sum(1 for s in segments if not s.startswith("{"))
        pattern = "".join("/" + ("[^/]+" if s.startswith("{") and s.endswith("}") else re.escape(s))
                          for s in segments)
        self.regex = re.compile("^" + pattern + "$")
        self.operation_id = op.get("operationId")
        params = op.get("parameters") or []
        self.query_params = {p["name"]: p for p in params if p.get("in") == "query"}
        self.body_param = next((p for p in params if p.get("in") == "body"), None)
        self.responses = op.get("responses") or {}
        security = op.get("security") or []
        self.needs_session = any("session_id" in s for s in security)

    def __repr__(self) -> str:
        return "%s %s (%s, %s)" % (self.method, self.key, self.operation_id, self.spec_name)

    def query_problems(self, query: List[Tuple[str, str]]) -> List[str]:
        """Why a request query does not fit this operation (empty: it fits)."""
        problems = []
        have: Dict[str, List[str]] = {}
        for k, v in query:
            have.setdefault(k, []).append(v)
        for k, v in self.fixed_query.items():
            if have.get(k) != [v]:
                problems.append("needs %s=%s" % (k, v))
        for k, values in have.items():
            if k in self.fixed_query:
                continue
            p = self.query_params.get(k)
            if p is None:
                problems.append("query parameter %r is not a parameter of the operation" % k)
                continue
            if p.get("type") != "array" and len(values) > 1:
                problems.append("query parameter %r given %d times" % (k, len(values)))
            item_type = (p.get("items") or {}).get("type") if p.get("type") == "array" else p.get("type")
            for v in values:
                if item_type == "boolean" and v not in ("true", "false"):
                    problems.append("query parameter %r=%r is not a boolean" % (k, v))
                if item_type == "integer" and not re.match(r"^-?\d+$", v):
                    problems.append("query parameter %r=%r is not an integer" % (k, v))
                enum = (p.get("items") or {}).get("enum") if p.get("type") == "array" else p.get("enum")
                if enum and v not in enum:
                    problems.append("query parameter %r=%r is not one of %s" % (k, v, enum))
        for name, p in self.query_params.items():
            if p.get("required") and name not in have:
                problems.append("required query parameter %r missing" % name)
        return problems


class ApiSpec(object):
    """The operations and definitions of a set of Swagger 2.0 files."""

    def __init__(self, files: Iterable[str] = SPEC_FILES, spec_dir: str = SPEC_DIR):
        self.operations: List[Operation] = []
        self.definitions: Dict[str, Dict[str, Any]] = {}    # per spec file: the same name may differ between files
        for name in files:
            with open(os.path.join(spec_dir, name)) as fh:
                doc = json.load(fh)
            if doc.get("swagger") != "2.0":
                raise ValueError("%s is not a Swagger 2.0 document" % name)
            self.definitions[name] = doc.get("definitions") or {}
            for key, ops in (doc.get("paths") or {}).items():
                if not key.startswith("/api/"):
                    continue            # the older /rest flavour is not what this collection speaks
                for method, op in ops.items():
                    if method.lower() in ("get", "put", "post", "patch", "delete", "head"):
                        self.operations.append(Operation(name, method, key, op))
        self._strict_defs = {name: tighten(defs) for name, defs in self.definitions.items()}
        self._validators: Dict[str, Any] = {}

    # ---- matching ------------------------------------------------------------------------------
    def match(self, method: str, url: str) -> Operation:
        """The one operation ``method url`` is (``url`` with or without scheme/host). Raises SpecViolation."""
        parts = urlsplit(url)
        path = parts.path
        query = parse_qsl(parts.query, keep_blank_values=True)
        method = method.upper()
        by_path = [op for op in self.operations if op.method == method and op.regex.match(path)]
        if not by_path:
            raise SpecViolation("%s %s is no operation of the specs (no %s on a matching path)" % (method, url, method))
        fitting = [op for op in by_path if not op.query_problems(query)]
        if not fitting:
            why = "; ".join("%s: %s" % (op.key, ", ".join(op.query_problems(query))) for op in by_path)
            raise SpecViolation("%s %s is no operation of the specs (%s)" % (method, url, why))
        best = max(op.literals + len(op.fixed_query) for op in fitting)
        fitting = [op for op in fitting if op.literals + len(op.fixed_query) == best]
        if len(fitting) > 1:
            raise SpecViolation("%s %s matches several operations: %s" % (method, url, fitting))
        return fitting[0]

    # ---- schemas --------------------------------------------------------------------------------
    def strict(self, schema: Dict[str, Any], spec_name: str) -> Dict[str, Any]:
        """A standalone JSON schema: ``schema`` tightened, with the definitions of its spec file for ``$ref``."""
        out = tighten(copy.deepcopy(schema))
        out["definitions"] = self._strict_defs[spec_name]
        return out

    def validate(self, schema: Dict[str, Any], instance: Any, what: str, spec_name: str = SPEC_FILES[0]) -> None:
        """Raise SpecViolation listing every error of ``instance`` against ``schema`` (``$ref`` into the
        definitions of ``spec_name``)."""
        key = spec_name + json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            validator = jsonschema.Draft4Validator(self.strict(schema, spec_name))
            self._validators[key] = validator
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = ["%s: %s at %s" % (what, e.message, "/".join(str(p) for p in e.absolute_path) or "(root)")
                     for e in errors[:10]]
            raise SpecViolation("\n".join(lines))

    def definition(self, name: str) -> Dict[str, Any]:
        return {"$ref": "#/definitions/" + name}

    # ---- exchanges ------------------------------------------------------------------------------
    def validate_request(self, method: str, url: str, body: Any = None, headers: Optional[Dict[str, str]] = None,
                         has_body: Optional[bool] = None) -> Operation:
        """Check a request (``body`` parsed JSON; ``has_body`` False when the request carried none)."""
        op = self.match(method, url)
        if has_body is None:
            has_body = body is not None
        what = "request %s %s (%s)" % (method.upper(), url, op.key)
        if op.body_param is None:
            if has_body:
                raise SpecViolation("%s: the operation takes no body, got %r" % (what, body))
        elif has_body:
            self.validate(op.body_param["schema"], body, what, op.spec_name)
        elif op.body_param.get("required"):
            raise SpecViolation("%s: the body is required" % what)
        if headers is not None and op.needs_session:
            low = {k.lower(): v for k, v in headers.items()}
            if not low.get(SESSION_HEADER):
                raise SpecViolation("%s: the operation needs the %s header" % (what, SESSION_HEADER))
        return op

    def validate_response(self, method: str, url: str, status: int, body: Any = None,
                          has_body: Optional[bool] = None) -> Operation:
        """Check a response against the operation's declared responses."""
        op = self.match(method, url)
        if has_body is None:
            has_body = body is not None
        what = "response %s to %s %s (%s)" % (status, method.upper(), url, op.key)
        resp = op.responses.get(str(status)) or op.responses.get("default")
        if resp is None:
            raise SpecViolation("%s: status %s is not declared (declared: %s)" % (what, status, sorted(op.responses)))
        schema = resp.get("schema")
        if schema is None:
            if has_body:
                raise SpecViolation("%s: no body is declared, got %r" % (what, body))
            return op
        if not has_body:
            raise SpecViolation("%s: a body is declared but none was sent" % what)
        self.validate(schema, body, what, op.spec_name)
        return op


_SPEC: Optional[ApiSpec] = None


def spec() -> ApiSpec:
    """The shared ApiSpec of the vendored files (loaded once per process)."""
    global _SPEC
    if _SPEC is None:
        _SPEC = ApiSpec()
    return _SPEC
