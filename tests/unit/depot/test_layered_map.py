# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""LayeredMap (Depot.vibs/bulletins/profiles/vib_files): dict semantics over lazy layers, later wins, and the
lazily located vib_files layer resolves exactly as the eager loop it replaces did."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import FileList, LayeredMap, Vib


class Lazy(Mapping):
    lazy_layer = True

    def __init__(self, d):
        self.d = d
        self.reads = 0

    def __getitem__(self, k):
        self.reads += 1
        return self.d[k]

    def __iter__(self):
        return iter(self.d)

    def __len__(self):
        return len(self.d)


def _vib(name, relpath):
    return Vib(id=name, name=name, version="1", vendor="V", relative_path=relpath)


def test_update_with_a_lazy_mapping_reads_nothing_and_later_layers_win():
    m = LayeredMap()
    a = Lazy({"x": 1, "y": 2})
    m.update(a)
    assert a.reads == 0 and len(m) == 2
    m["y"] = 20
    b = Lazy({"z": 3, "x": 10})
    m.update(b)
    assert a.reads == 0 and b.reads == 0
    assert m["x"] == 10 and m["y"] == 20 and m["z"] == 3
    assert sorted(m) == ["x", "y", "z"] and len(m) == 3
    assert dict(m.items()) == {"x": 10, "y": 20, "z": 3} and m == {"x": 10, "y": 20, "z": 3}
    assert "q" not in m and m.get("q", 5) == 5
    m["only"] = 1
    del m["only"]
    assert "only" not in m
    with pytest.raises(TypeError):
        del m["y"]                      # also lives in a read-only (cached) layer
    m.update({"w": 4}, v=5)
    assert m["w"] == 4 and m["v"] == 5


def test_located_vib_files_resolve_like_the_eager_loop():
    vibs = {"a": _vib("a", "vib20/a.vib"), "b": _vib("b", None), "c": _vib("c", "vib20/c.vib")}
    files = LayeredMap()
    files["c"] = "/explicit/c.vib"              # set before the unit: the unit's answer wins, as before
    files.add_located(vibs, lambda rp: "/depot/" + rp)
    files["b"] = "/later/b.vib"                 # set after the unit: wins
    assert files["a"] == "/depot/vib20/a.vib"
    assert files["b"] == "/later/b.vib"
    assert files["c"] == "/depot/vib20/c.vib"
    # a unit that cannot locate a VIB (no relative path, or the locator says None) leaves earlier answers alone
    files2 = LayeredMap()
    files2["b"] = "/earlier/b.vib"
    files2.add_located(vibs, lambda rp: None)
    assert files2["b"] == "/earlier/b.vib" and "a" not in files2
    assert dict(files2) == {"b": "/earlier/b.vib"}


def test_file_list_reads_like_a_tuple():
    fl = FileList("a\x00b\x00\x00c", "\x00")
    assert list(fl) == ["a", "b", "c"] and len(fl) == 3 and fl == ("a", "b", "c") and fl[1] == "b"
    assert "b" in fl and "x" not in fl and fl != ("a",)
    assert fl.joined("\x00") == "a\x00b\x00c" and fl.joined(",") == "a,b,c"
    assert FileList("a</file><file>b", "</file><file>").joined("\x00") == "a\x00b"
