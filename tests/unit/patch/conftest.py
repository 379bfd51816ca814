# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploy unit tests: a real depot (the real 8.0U2 USB NIC fling component from tests/fixtures/real), a host with
the simulator's 8.0U2 image (sim/images/esxi-8.0u2.json), and the in-memory FakeHostClient."""

from __future__ import annotations

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.classify import HostDepotUrls

from tests.unit.plan.plan_helpers import B_80U2, FLING_80U2, V_80U2, image_vibs  # noqa: F401
from tests.unit.patch.fake_client import FakeHost, FakeHostClient

DEPOT_URL = "http://127.0.0.1:9/fling/index.xml"   # where the (fake) host reaches the depot; never contacted


@pytest.fixture(scope="session")
def depot():
    return load_depot(FLING_80U2)


def make_fake(depot, names=("esxi-01",), is_vcenter=True, **host_kw):
    urls = HostDepotUrls(depot, [FLING_80U2], DEPOT_URL)
    catalog = {urls.vib_url(v.id): v for v in depot.vibs.values()}
    hosts = [FakeHost(n, image_vibs("esxi-8.0u2.json"), "host-%d" % (i + 10), **host_kw) for i, n in enumerate(names)]
    bulletins = {b.id: list(b.vib_ids) for b in depot.bulletins.values()}
    return FakeHostClient(hosts, catalog, is_vcenter=is_vcenter, bulletins=bulletins)


@pytest.fixture
def fake(depot):
    return make_fake(depot)


def deploy_params(**kw):
    """The module's options with their defaults (from the argument specs), for the fake host."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch import options
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.argspec import target_argument_spec
    p = {}
    for spec in (target_argument_spec(), options.scan_options(), options.selection_options(),
                 options.deploy_options()):
        for k, v in spec.items():
            p[k] = v.get("default")
    p.update(hostname="vcenter.fake", username="u", password="p", port=443, validate_certs=True,
             depot=[FLING_80U2], depot_url=[DEPOT_URL], product_line=None, version=None, depot_validate_certs=True,
             proxy=None, cache_dir=None, timeout=30)
    p.update(esxi_hostname=["esxi-01"], bulletins=[B_80U2])
    p.update(kw)
    return p
