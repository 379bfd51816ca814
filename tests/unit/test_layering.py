# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The architecture of ``plugins/`` as executable rules (the table in ``docs/dev/architecture.md``).

An ``ast`` walk over every ``.py`` file under ``plugins/``: imports at any depth (module level, inside functions,
under ``try``/``if``), relative imports, ``importlib.import_module("...")`` / ``__import__("...")`` with a string
literal, and ``os.system``/``os.popen``/``os.fork``/``os.exec*``/``os.spawn*`` calls. Rules:

* pure packages (``_common``, ``_esxi``, ``_imagebuilder``, ``_depot.models|vibversion|parse``) import only pure
  collection code, no ``ansible``, no network/process library;
* only ``_clients`` imports network/process libraries (``requests``, ``pyVmomi``, ``urllib3``, ``socket``, ``ssl``,
  ``subprocess``, ``http.server``, ``http.client``, ``urllib.request``, ``asyncio`` ...);
* only ``_ansible`` and plugin entry points (``modules``, ``inventory``, ``action``, ``test``, ``filter``,
  ``doc_fragments``) import ``ansible.*``; other module_utils may import an ``_ansible`` module only if it does not
  (transitively) import ``ansible.*`` (pure argument-spec data);
* ``_clients`` imports from the collection only ``_clients``, ``_common``, ``_esxi``, ``_depot.models``,
  ``_depot.vibversion``;
* no import cycles (lazy imports included);
* no file over 700 lines, no function over 120 lines.

Each rule is parametrized per file, so a failure names the file. Entries in ``TEMPORARY_ALLOWED`` are files that
other engineers are splitting right now; they are ``xfail(strict=True)``, so an entry that is no longer needed
fails (XPASS) until it is removed.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
COLLECTION_PREFIX = "ansible_collections.fleetpatch.esxi.plugins."

MAX_FILE_LINES = 700
MAX_FUNCTION_LINES = 120

# Layer of a collection module (dotted name relative to plugins/, e.g. "module_utils._depot.sources").
PURE_PACKAGES = ("module_utils._common", "module_utils._esxi", "module_utils._imagebuilder")
PURE_MODULES = ("module_utils._depot.models", "module_utils._depot.vibversion", "module_utils._depot.parse",
                "module_utils._depot.parsing")
CLIENTS = "module_utils._clients"
ANSIBLE_GLUE = "module_utils._ansible"
ENTRY_POINTS = ("modules", "inventory", "action", "test", "filter", "doc_fragments", "lookup", "callback")
# What _clients may import from the collection (besides itself).
CLIENTS_MAY_IMPORT = ("module_utils._common", "module_utils._esxi", "module_utils._depot.models",
                      "module_utils._depot.vibversion")

# Libraries that open sockets, speak a network protocol or start processes.
NETWORK_LIBS = (
    "requests", "urllib3", "pyVmomi", "pyVim", "vmware", "socket", "ssl", "subprocess", "http.server",
    "http.client", "urllib.request", "asyncio", "socketserver", "ftplib", "smtplib", "telnetlib", "xmlrpc",
    "multiprocessing", "selectors", "select", "pty", "aiohttp", "httpx", "paramiko", "websocket",
)
PROCESS_CALLS = ("system", "popen", "fork", "forkpty", "execv", "execve", "execvp", "execvpe", "execl",
                 "execle", "execlp", "execlpe", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve",
                 "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp")

# Temporary exceptions for files other engineers are splitting during this session. The lead removes them.
# key: (rule, path relative to the repository root, function name or "") -> who is fixing it
TEMPORARY_ALLOWED: Dict[Tuple[str, str, str], str] = {
}


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> str:
    """Layer of a collection module: pure, clients, glue, entry or orchestration (other module_utils)."""
    if any(_under(module, p) for p in PURE_PACKAGES + PURE_MODULES):
        return "pure"
    if _under(module, CLIENTS):
        return "clients"
    if _under(module, ANSIBLE_GLUE):
        return "glue"
    if module.split(".")[0] in ENTRY_POINTS:
        return "entry"
    return "orchestration"


@dataclass
class Import:
    target: str          # dotted name; collection modules without the ansible_collections prefix
    internal: bool       # a module of this collection
    line: int
    lazy: bool           # inside a function
    type_only: bool = False  # under ``if TYPE_CHECKING:`` (layer rules apply; not a runtime edge for cycles)


@dataclass
class Module:
    name: str
    path: Path
    rel: str
    lines: int
    imports: List[Import] = field(default_factory=list)
    process_calls: List[Tuple[str, int]] = field(default_factory=list)
    functions: List[Tuple[str, int, int]] = field(default_factory=list)  # (qualname, line, length)


def module_name(plugins: Path, path: Path) -> str:
    parts = list(path.relative_to(plugins).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


class _Visitor(ast.NodeVisitor):
    def __init__(self, mod: Module, is_package: bool, known: Set[str]):
        self.mod = mod
        self.package = mod.name if is_package else mod.name.rpartition(".")[0]
        self.known = known
        self.depth = 0
        self.type_checking = 0
        self.scope: List[str] = []
        self.importlib_names: Set[str] = set()

    # -- names --------------------------------------------------------------------------------------------------
    def _add(self, name: str, line: int) -> None:
        if not name:
            return
        internal = False
        if name.startswith(COLLECTION_PREFIX):
            name = name[len(COLLECTION_PREFIX):]
            internal = True
        elif name == COLLECTION_PREFIX[:-1]:
            return
        self.mod.imports.append(Import(name, internal, line, self.depth > 0, self.type_checking > 0))

    def _resolve_relative(self, level: int, module: Optional[str]) -> str:
        base = self.package.split(".") if self.package else []
        if level > 1:
            base = base[: len(base) - (level - 1)]
        return COLLECTION_PREFIX + ".".join(base + ([module] if module else []))

    # -- visitors -----------------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":
            return
        base = self._resolve_relative(node.level, node.module) if node.level else (node.module or "")
        stripped = base[len(COLLECTION_PREFIX):] if base.startswith(COLLECTION_PREFIX) else None
        for alias in node.names:
            full = base + "." + alias.name
            if stripped is not None:
                # `from pkg import mod` names a module if pkg.mod is a file; else a name inside pkg.
                sub = stripped + "." + alias.name
                self._add(full if sub in self.known else base, node.lineno)
            else:
                self._add(base, node.lineno)
                if _is_network(full) and not _is_network(base):  # `from urllib import request`
                    self._add(full, node.lineno)
            if base == "importlib" and alias.name == "import_module":
                self.importlib_names.add(alias.asname or alias.name)

    def visit_If(self, node: ast.If) -> None:
        t = node.test
        is_tc = (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
            isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")
        if not is_tc:
            self.generic_visit(node)
            return
        self.type_checking += 1
        for child in node.body:
            self.visit(child)
        self.type_checking -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        dynamic = (
            (isinstance(func, ast.Attribute) and func.attr == "import_module"
             and isinstance(func.value, ast.Name) and func.value.id == "importlib")
            or (isinstance(func, ast.Name) and (func.id == "__import__" or func.id in self.importlib_names))
        )
        if dynamic and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            self._add(node.args[0].value, node.lineno)
        if (isinstance(func, ast.Attribute) and func.attr in PROCESS_CALLS
                and isinstance(func.value, ast.Name) and func.value.id == "os"):
            self.mod.process_calls.append(("os." + func.attr, node.lineno))
        self.generic_visit(node)

    def _function(self, node: ast.AST) -> None:
        name = getattr(node, "name")
        self.scope.append(name)
        length = (node.end_lineno or node.lineno) - node.lineno + 1  # type: ignore[attr-defined]
        self.mod.functions.append((".".join(self.scope), node.lineno, length))  # type: ignore[attr-defined]
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        self.scope.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()


def scan(plugins: Path) -> Dict[str, Module]:
    """Every module under ``plugins`` with its imports, process calls and function lengths."""
    files = sorted(p for p in plugins.rglob("*.py") if "__pycache__" not in p.parts)
    known = {module_name(plugins, p) for p in files}
    repo = plugins.parent
    out: Dict[str, Module] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        name = module_name(plugins, path)
        mod = Module(name, path, os.path.relpath(path, repo), len(text.splitlines()))
        _Visitor(mod, path.name == "__init__.py", known).visit(ast.parse(text, filename=str(path)))
        out[name] = mod
    return out


def _is_network(target: str) -> bool:
    return any(_under(target, lib) for lib in NETWORK_LIBS)


def _reaches_ansible(modules: Dict[str, Module], start: str) -> bool:
    seen: Set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in modules:
            continue
        seen.add(name)
        for imp in modules[name].imports:
            if not imp.internal and _under(imp.target, "ansible"):
                return True
            if imp.internal:
                todo.append(imp.target)
    return False


def layering_violations(modules: Dict[str, Module], name: str) -> List[str]:
    """Human-readable violations of the import rules by one module."""
    mod = modules[name]
    layer = layer_of(name)
    bad: List[str] = []

    def say(imp: Import, why: str) -> None:
        where = "%s:%d%s" % (mod.rel, imp.line, " (inside a function)" if imp.lazy else "")
        bad.append("%s imports %s: %s" % (where, imp.target, why))

    for imp in mod.imports:
        t = imp.target
        if not imp.internal:
            if _is_network(t) and layer != "clients":
                say(imp, "network/process libraries belong in module_utils/_clients (layer %s)" % layer)
            elif _under(t, "ansible") and layer not in ("glue", "entry"):
                say(imp, "only module_utils/_ansible and plugin entry points import ansible.* (layer %s)" % layer)
            continue
        target_layer = layer_of(t)
        if layer == "pure" and target_layer != "pure":
            say(imp, "a pure module imports only pure modules (%s is %s)" % (t, target_layer))
        elif layer == "clients" and not (target_layer == "clients"
                                         or any(_under(t, p) for p in CLIENTS_MAY_IMPORT)):
            say(imp, "_clients may import only _clients, %s" % ", ".join(p.split(".", 1)[1]
                                                                        for p in CLIENTS_MAY_IMPORT))
        elif (layer not in ("glue", "entry") and target_layer == "glue" and t != name
              and _reaches_ansible(modules, t)):
            say(imp, "%s imports ansible.*; library code below the module wrapper must not depend on it" % t)
    for call, line in mod.process_calls:
        if layer != "clients":
            bad.append("%s:%d calls %s: starting processes belongs in module_utils/_clients" % (mod.rel, line, call))
    return bad


def import_cycles(modules: Dict[str, Module]) -> List[List[str]]:
    """Strongly connected components (size > 1, or a self-import) of the collection's import graph."""
    graph = {n: sorted({i.target for i in m.imports if i.internal and i.target in modules and not i.type_only and
                        not (i.target != n and modules[i.target].path.name == "__init__.py"
                             and n.startswith(i.target + "."))})
             for n, m in modules.items()}
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on: Set[str] = set()
    out: List[List[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan, recursive (the graph is ~100 nodes)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return out


def size_violations(mod: Module) -> List[str]:
    bad = []
    if mod.lines > MAX_FILE_LINES:
        bad.append("%s has %d lines (limit %d)" % (mod.rel, mod.lines, MAX_FILE_LINES))
    return bad


def function_violations(mod: Module) -> List[Tuple[str, str]]:
    return [(qual, "%s:%d %s() has %d lines (limit %d)" % (mod.rel, line, qual, length, MAX_FUNCTION_LINES))
            for qual, line, length in mod.functions if length > MAX_FUNCTION_LINES]


# ---- the tests over the real tree ---------------------------------------------------------------------------------

_MODULES = scan(PLUGINS)


def _params(rule: str) -> Iterable[object]:
    for name, mod in sorted(_MODULES.items(), key=lambda kv: kv[1].rel):
        owner = TEMPORARY_ALLOWED.get((rule, mod.rel, ""))
        marks = [pytest.mark.xfail(strict=True, reason="TEMPORARY_ALLOWED: %s" % owner)] if owner else []
        yield pytest.param(name, id=mod.rel, marks=marks)


@pytest.mark.parametrize("name", list(_params("imports")))
def test_imports_follow_the_layers(name: str) -> None:
    bad = layering_violations(_MODULES, name)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", list(_params("file_size")))
def test_file_size(name: str) -> None:
    bad = size_violations(_MODULES[name])
    assert not bad, "\n".join(bad)


def _function_params() -> Iterable[object]:
    for name, mod in sorted(_MODULES.items(), key=lambda kv: kv[1].rel):
        for qual, _msg in function_violations(mod):
            owner = TEMPORARY_ALLOWED.get(("function_size", mod.rel, qual))
            marks = [pytest.mark.xfail(strict=True, reason="TEMPORARY_ALLOWED: %s" % owner)] if owner else []
            yield pytest.param(name, qual, id="%s::%s" % (mod.rel, qual), marks=marks)
    # Allow-list entries whose function no longer exceeds the limit (or no longer exists): XPASS -> remove them.
    for (rule, rel, qual), owner in sorted(TEMPORARY_ALLOWED.items()):
        if rule != "function_size":
            continue
        mod = next((m for m in _MODULES.values() if m.rel == rel), None)
        if mod is None or qual not in [q for q, _ in function_violations(mod)]:
            yield pytest.param(mod.name if mod else "", qual, id="%s::%s" % (rel, qual),
                               marks=[pytest.mark.xfail(strict=True, reason="TEMPORARY_ALLOWED: %s" % owner)])


@pytest.mark.parametrize("name,qualname", list(_function_params()) or [pytest.param("", "", id="none")])
def test_function_size(name: str, qualname: str) -> None:
    if not name:
        return  # no function over the limit anywhere: nothing to report
    bad = [msg for qual, msg in function_violations(_MODULES[name]) if qual == qualname]
    assert not bad, "\n".join(bad)


def test_every_function_is_measured() -> None:
    # The function-size parametrization above only lists offenders; this proves the walk saw the whole tree.
    assert sum(len(m.functions) for m in _MODULES.values()) > 500
    assert "module_utils._clients.vsphere.client" in _MODULES


def test_no_import_cycles() -> None:
    cycles = import_cycles(_MODULES)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_allow_list_names_real_files() -> None:
    rels = {m.rel for m in _MODULES.values()}
    stale = [key for key in TEMPORARY_ALLOWED if key[1] not in rels]
    assert not stale, "TEMPORARY_ALLOWED names files that no longer exist: %s" % stale


# ---- the checker catches planted violations (a temporary plugins/ tree) -------------------------------------------

PKG = "ansible_collections.fleetpatch.esxi.plugins.module_utils"


def _plant(root: Path, files: Dict[str, str]) -> Dict[str, Module]:
    plugins = root / "plugins"
    for rel, text in files.items():
        path = plugins / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return scan(plugins)


def _all_violations(mods: Dict[str, Module]) -> List[str]:
    return [v for n in mods for v in layering_violations(mods, n)]


def test_checker_catches_planted_violations(tmp_path: Path) -> None:
    mods = _plant(tmp_path, {
        "module_utils/_common/__init__.py": "",
        "module_utils/_common/ok.py": "import re\nimport json\n",
        # a pure module reaching the network from inside a function
        "module_utils/_common/bad_lazy.py": "def f():\n    import requests\n    return requests\n",
        # a pure module reaching the client layer with a relative import
        "module_utils/_imagebuilder/bad_rel.py": "from .._clients.http import HttpClient\n",
        # importlib with a string
        "module_utils/_depot/parse.py": "import importlib\nS = importlib.import_module('socket')\n",
        # ansible outside the glue
        "module_utils/_patch/plan.py": "from ansible.module_utils.basic import AnsibleModule\n",
        # the client layer reaching an orchestrator
        "module_utils/_clients/http.py": "from %s._patch import plan\nimport requests\n" % PKG,
        # an orchestrator starting a process
        "module_utils/_depot/serve.py": "import os\n\ndef go():\n    os.system('true')\n",
        # a pure module importing the client layer for typing only is still a layer violation
        "module_utils/_imagebuilder/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                               "    from %s._clients.http import HttpClient\n" % PKG,
        # an orchestrator importing glue that imports ansible
        "module_utils/_ansible/module.py": "from ansible.module_utils.basic import AnsibleModule\n",
        "module_utils/_report/report.py": "from %s._ansible.module import AnsibleModule\n" % PKG,
        # allowed: a module importing ansible, orchestrator importing a client
        "modules/m.py": "from ansible.module_utils.basic import AnsibleModule\nfrom %s._clients import http\n" % PKG,
        "module_utils/_tagging/tagging.py": "from %s._clients.http import x\n" % PKG,
    })
    found = _all_violations(mods)
    text = "\n".join(found)
    assert "bad_lazy.py:2 (inside a function) imports requests" in text
    assert "_imagebuilder/bad_rel.py:1 imports module_utils._clients.http" in text
    assert "_depot/parse.py:2 imports socket" in text
    assert "_patch/plan.py:1 imports ansible.module_utils.basic" in text
    assert "_clients/http.py:1 imports module_utils._patch.plan" in text
    assert "_depot/serve.py:4 calls os.system" in text
    assert "_report/report.py:1 imports module_utils._ansible.module" in text
    assert "_imagebuilder/typed.py:3 imports module_utils._clients.http" in text
    assert not [v for v in found if "modules/m.py" in v or "tagging.py" in v or "ok.py" in v], text
    assert len(found) == 8, text


def test_checker_catches_planted_cycle_and_sizes(tmp_path: Path) -> None:
    long_function = "def f():\n" + "    x = 1\n" * 125
    mods = _plant(tmp_path, {
        "module_utils/_patch/a.py": "def g():\n    from %s._patch import b\n" % PKG,
        "module_utils/_patch/b.py": "from %s._patch.a import g\n" % PKG,
        # a type-only import back is not a runtime cycle
        "module_utils/_patch/e.py": "from typing import TYPE_CHECKING\nfrom %s._patch.f import x\n" % PKG,
        "module_utils/_patch/f.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                    "    from %s._patch.e import y\n" % PKG,
        "module_utils/_patch/c.py": "x = 1\n" * 701,
        "module_utils/_patch/d.py": long_function,
    })
    assert import_cycles(mods) == [["module_utils._patch.a", "module_utils._patch.b"]]
    assert size_violations(mods["module_utils._patch.c"]) == [
        "plugins/module_utils/_patch/c.py has 701 lines (limit 700)"]
    assert [q for q, _ in function_violations(mods["module_utils._patch.d"])] == ["f"]
    assert not size_violations(mods["module_utils._patch.d"])
