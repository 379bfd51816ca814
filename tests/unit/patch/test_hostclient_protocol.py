# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The FakeHostClient of the deploy unit tests and the real VSphereClient (with its host_fields methods) offer every
method of the ``HostClient`` protocol, with the protocol's parameter names: the fake cannot drift from the client."""

from __future__ import annotations

import inspect

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.hostclient import EsxcliClient, HostClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.esxcli import Esxcli as RealEsxcli
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.host_fields import HostFields

from tests.unit.patch.fake_client import FakeEsxcli, FakeHostClient


def _methods(proto):
    return {n: f for n, f in vars(proto).items() if not n.startswith("_") and callable(f)}


def _params(fn):
    return [p for p in inspect.signature(fn).parameters if p not in ("self",)]


@pytest.mark.parametrize("proto,impls", [
    (HostClient, [FakeHostClient, (VSphereClient, HostFields)]),
    (EsxcliClient, [FakeEsxcli, RealEsxcli]),
])
def test_implementations_offer_the_protocol(proto, impls):
    methods = _methods(proto)
    assert len(methods) >= 4
    for impl in impls:
        classes = impl if isinstance(impl, tuple) else (impl,)
        for name, fn in methods.items():
            found = [getattr(c, name) for c in classes if hasattr(c, name)]
            assert found, "%s lacks %s" % (classes[0].__name__, name)
            have = _params(found[0])
            missing = [p for p in _params(fn) if p not in have and not any(
                inspect.Parameter.VAR_KEYWORD == q.kind for q in inspect.signature(found[0]).parameters.values())]
            assert not missing, "%s.%s lacks parameters %s" % (classes[0].__name__, name, missing)
