# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which URLs a host gets for a depot (HostDepotUrls): online depots, air-gapped local depots served at
``depot_url`` (IPv6 literals), offline bundle zips, per-host metadata selection."""

from __future__ import annotations

import os
import shutil
import zipfile

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Depot, MetadataRef
from ansible_collections.fleetpatch.esxi.plugins.module_utils._patch.classify import HostDepotUrls

from plan_helpers import FLING_80U2, FLING_670, V_80U2

V6 = "http://[fd00::10]:8080/depot/index.xml"


def online_depot():
    d = Depot()
    d.metadata = [MetadataRef("https://depot.example.com/esx/vmw/metadata-80.zip", "embeddedEsx", "8.0"),
                  MetadataRef("https://depot.example.com/esx/vmw/metadata-70.zip", "embeddedEsx", "7.0"),
                  MetadataRef("https://depot.example.com/esx/vmw/metadata-80.zip", "embeddedEsx", "8.0.2")]
    d.vib_files = {"A": "https://depot.example.com/esx/vmw/vib20/a/A.vib"}
    return d


def test_online_depot_metadata_per_host_version():
    u = HostDepotUrls(online_depot(), ["https://depot.example.com/esx/index.xml"])
    assert u.meta_urls("embeddedEsx", "8.0.2") == ["https://depot.example.com/esx/vmw/metadata-80.zip"]
    assert u.meta_urls("embeddedEsx", "7.0.3") == ["https://depot.example.com/esx/vmw/metadata-70.zip"]
    assert u.meta_urls("embeddedEsx", "6.7.0") == []
    assert u.vib_url("A") == "https://depot.example.com/esx/vmw/vib20/a/A.vib"
    assert u.depot_urls() == ["https://depot.example.com/esx/index.xml"] and u.unreachable() == []


def test_online_depot_reached_at_another_address_ipv6():
    u = HostDepotUrls(online_depot(), ["https://depot.example.com/esx/index.xml"], [V6])
    assert u.meta_urls("embeddedEsx", "8.0.2") == ["http://[fd00::10]:8080/depot/vmw/metadata-80.zip"]
    assert u.vib_url("A") == "http://[fd00::10]:8080/depot/vmw/vib20/a/A.vib"
    assert u.depot_urls() == [V6]


@pytest.fixture(scope="module")
def unzipped(tmp_path_factory):
    d = tmp_path_factory.mktemp("served") / "fling"
    with zipfile.ZipFile(FLING_80U2) as zf:
        zf.extractall(str(d))
    return str(d)


def test_air_gapped_folder_served_over_ipv6(unzipped):
    depot = load_depot([unzipped])
    u = HostDepotUrls(depot, [unzipped], V6)
    assert u.meta_urls("embeddedEsx", "8.0.2") == ["http://[fd00::10]:8080/depot/metadata.zip"]
    assert u.vib_url(V_80U2) == "http://[fd00::10]:8080/depot/" + os.path.relpath(
        depot.vib_files[V_80U2], unzipped).replace(os.sep, "/")
    assert u.depot_urls() == [V6]
    # the index.xml given as the source works the same
    u = HostDepotUrls(load_depot([os.path.join(unzipped, "index.xml")]), [os.path.join(unzipped, "index.xml")], V6)
    assert u.meta_urls("embeddedEsx", "8.0.2") == ["http://[fd00::10]:8080/depot/metadata.zip"]


def test_local_depot_without_depot_url_is_unreachable(unzipped):
    u = HostDepotUrls(load_depot([unzipped]), [unzipped])
    assert u.meta_urls("embeddedEsx", "8.0.2") == [] and u.vib_url(V_80U2) is None
    assert u.unreachable() == [unzipped] and u.depot_urls() == []


def test_bundle_zip_served_as_zip_or_unzipped(tmp_path):
    z = str(tmp_path / "fling.zip")
    shutil.copyfile(FLING_80U2, z)
    depot = load_depot([z])
    as_zip = HostDepotUrls(depot, [z], "http://depot.example.com/b/fling.zip")
    assert as_zip.meta_urls("embeddedEsx", "8.0.2") == []
    assert as_zip.bundle_urls() == ["http://depot.example.com/b/fling.zip"]
    assert as_zip.vib_url(V_80U2) is None           # inside the zip: only esxcli -d can use it
    unz = HostDepotUrls(depot, [z], "http://depot.example.com/b/fling/index.xml")
    assert unz.meta_urls("embeddedEsx", "8.0.2") == ["http://depot.example.com/b/fling/metadata.zip"]
    assert unz.vib_url(V_80U2).startswith("http://depot.example.com/b/fling/vib20/")


def test_wrapped_670_bundle_and_several_sources(tmp_path, unzipped):
    z = str(tmp_path / "usb67.zip")
    shutil.copyfile(FLING_670, z)
    depot = load_depot([z, unzipped])
    u = HostDepotUrls(depot, [z, unzipped], ["http://h/usb67/index.xml", ""])
    assert u.meta_urls("embeddedEsx", "6.7.0") == ["http://h/usb67/metadata.zip"]
    assert u.unreachable() == [unzipped]
    with pytest.raises(InputError):
        HostDepotUrls(depot, [z, unzipped], "http://h/one/index.xml")
    with pytest.raises(InputError):
        HostDepotUrls(depot, [z, unzipped], ["http://h/a/index.xml"])
    with pytest.raises(InputError):
        HostDepotUrls(depot, [z], ["ftp://h/a.zip"])
