# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet scan's small ImageConfigManager requests are built from one body pyVmomi serialised per method
(``image_config._template``): for every moid the bytes must be exactly what pyVmomi serialises for that
ImageConfigManager, and a stub whose requests do not hold the moid plainly gets no template (each request is
then serialised by pyVmomi)."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere import image_config

pyVmomi = pytest.importorskip("pyVmomi")
from pyVmomi import SoapAdapter, vim  # noqa: E402

METHODS = ("QueryHostImageProfile", "InstallDate", "QueryHostAcceptanceLevel", "FetchSoftwarePackages")


def _stub(version="vim.version.v8_0_0_0"):
    return SoapAdapter.SoapStubAdapter(host="127.0.0.1", port=443, version=version)


@pytest.mark.parametrize("version", ["vim.version.v8_0_0_0", "vim.version.v7_0_3_0"])
@pytest.mark.parametrize("method", METHODS)
def test_template_gives_pyvmomi_bytes(method, version):
    stub = _stub(version)
    tpl = image_config._template(stub, method)
    assert tpl is not None
    for moid in ("imageConfigManager-host-12", "imageConfigManager", "ha-image-config-manager-2", "host-9:x.y"):
        assert image_config._PLAIN_MOID.match(moid)
        want = image_config._serialize(stub, vim.host.ImageConfigManager(moid, stub), method)
        assert tpl[0] + moid.encode("ascii") + tpl[1] == want


def test_moid_that_needs_escaping_is_not_templated():
    assert not image_config._PLAIN_MOID.match("a<b&c")
    assert not image_config._PLAIN_MOID.match("h\u00f6st")


def test_stub_that_rewrites_the_moid_gets_no_template():
    stub = _stub()
    stub.requestModifierList = [lambda body: body.replace(image_config._SENTINEL.encode("ascii"), b"other")]
    assert image_config._template(stub, "InstallDate") is None
    stub.requestModifierList = [lambda body: body + b"<!-- " + image_config._SENTINEL.encode("ascii") + b" -->"]
    assert image_config._template(stub, "InstallDate") is None
