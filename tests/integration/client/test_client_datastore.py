# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Datastore lookup and files over HTTPS /folder with the SOAP session cookie, FileManager and the browser."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, InputError, NotFoundError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.datastore import DatastoreFiles
from tests.simulator.fixtures import real_fixture
from tests.simulator.util import FLING_80U2

from tests.integration.client.client_sim_helpers import HOST


pytestmark = [pytest.mark.simulator]


@pytest.fixture
def ds_name(sim):
    return "datastore1" if sim.mode == "esx" else "C1-shared"


@pytest.fixture
def files(client):
    f = DatastoreFiles(client)
    yield f
    f.close()


def test_find_datastore(client, host, sim, ds_name):
    ds = client.find_datastore(ds_name, host=host)
    assert ds["name"] == ds_name and ds["accessible"] and ds["capacity"] > 0 and ds["moid"]
    assert ds["url"] == "ds:///vmfs/volumes/%s/" % ds["uuid"] and ds["type"]
    if sim.mode == "esx":
        assert ds["datacenter"] == "ha-datacenter" and ds["datacenter_path"] == "ha-datacenter"
    else:
        assert ds["datacenter"] == "DC1" and ds["datacenter_path"] == "DC1"
    assert client.find_datastore(ds_name)["moid"] == ds["moid"]
    with pytest.raises(NotFoundError) as ei:
        client.find_datastore("nope", host=host)
    assert ds_name in str(ei.value) and ei.value.details["missing"] == ["nope"]


def test_upload_stat_list_download_delete(files, ds_name, tmp_path):
    src = real_fixture(*FLING_80U2)     # a real offline bundle (binary zip)
    digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
    up = files.upload(ds_name, "fleetpatch/bundles/fling & co.zip", src)
    assert up["size"] == os.path.getsize(src) and up["sha256"] == digest
    assert up["path"] == "[%s] fleetpatch/bundles/fling & co.zip" % ds_name
    st = files.stat(ds_name, "fleetpatch/bundles/fling & co.zip")
    assert st["size"] == os.path.getsize(src)
    assert files.exists(ds_name, "fleetpatch/bundles/fling & co.zip")
    assert files.stat(ds_name, "fleetpatch/bundles/missing.zip") is None
    listing = files.listdir(ds_name, "fleetpatch/bundles")
    assert [(e["name"], e["size"], e["folder"]) for e in listing] == [("fling & co.zip", up["size"], False)]
    assert [e["name"] for e in files.listdir(ds_name, "fleetpatch") if e["folder"]] == ["bundles"]
    dest = tmp_path / "back.zip"
    down = files.download(ds_name, "fleetpatch/bundles/fling & co.zip", str(dest))
    assert down["sha256"] == digest and hashlib.sha256(dest.read_bytes()).hexdigest() == digest
    assert files.delete(ds_name, "fleetpatch/bundles/fling & co.zip") is True
    assert files.delete(ds_name, "fleetpatch/bundles/fling & co.zip") is False
    assert not files.exists(ds_name, "fleetpatch/bundles/fling & co.zip")
    assert files.delete(ds_name, "fleetpatch") is True


def test_small_files_fileobj_mkdir_and_errors(files, ds_name, tmp_path):
    data = b"hello <guest store> & more\n" * 100
    up = files.upload(ds_name, "gs/a/b/readme.txt", io.BytesIO(data))
    assert up["size"] == len(data)
    assert files.read(ds_name, "gs/a/b/readme.txt") == data
    assert files.mkdir(ds_name, "gs/empty") is True
    assert {e["name"] for e in files.listdir(ds_name, "gs")} == {"a", "empty"}
    with pytest.raises(NotFoundError):
        files.download(ds_name, "gs/none.bin", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()
    with pytest.raises(NotFoundError):
        files.listdir(ds_name, "no-such-folder")
    with pytest.raises(InputError):
        files.upload(ds_name, "../escape.txt", io.BytesIO(b"x"))
    with pytest.raises(NotFoundError):
        files.upload("nope", "x.txt", io.BytesIO(b"x"))
    assert files.delete(ds_name, "gs") is True


def test_http_uses_the_session_cookie(client, ds_name):
    f = DatastoreFiles(client)
    f.upload(ds_name, "s/one.txt", io.BytesIO(b"1"))
    good = client._stub.cookie
    client._stub.cookie = 'vmware_soap_session="not-a-session"; Path=/'   # a session the server never issued
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        f.read(ds_name, "s/one.txt")
    client._stub.cookie = good
    client.reconnect()                               # a new login: the new session's cookie is used
    assert client.session_cookie.startswith("vmware_soap_session=") and client.generation == 2
    assert f.read(ds_name, "s/one.txt") == b"1"
    assert f.delete(ds_name, "s") is True
    f.close()


def test_gueststore_url_from_datastore(client, host, sim, ds_name):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.datastore import gueststore_url
    ds = client.find_datastore(ds_name, host=host)
    url = gueststore_url(ds["url"], "GuestStore")
    assert url == "ds:///vmfs/volumes/%s/GuestStore" % ds["uuid"]
    assert client.esxcli.gueststore_set(host, url) == url
    assert sim.state(HOST)["gueststore_url"] == url
    assert client.esxcli.gueststore_clear(host) == ""
