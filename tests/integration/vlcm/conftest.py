# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vLCM tests against the simulator. EVERY /api exchange the simulator serves during a test (whoever sent it:
the modules run by ansible-playbook, the client, the tests) is logged by the simulator ($ESXISIM_VLCM_LOG) and
validated against VMware's Swagger files at the end of the test (``spec_checked``, autouse): a request that is no
operation of the spec, a body with a field the spec lacks, or an answer the spec does not declare fails the test."""

from __future__ import annotations

import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

from tests.integration.vlcm.vlcm_helpers import TOPOLOGY, read_log, validate_log  # noqa: E402


@pytest.fixture(scope="module")
def vlcm_log(tmp_path_factory):
    return str(tmp_path_factory.mktemp("vlcm-log") / "exchanges.jsonl")


@pytest.fixture(scope="module")
def vlcm_sim(vlcm_log, sim_factory):
    """vCenter simulator with the image-managed cluster IMG and the baseline cluster BASE (vlcm_helpers.TOPOLOGY)."""
    old = os.environ.get("ESXISIM_VLCM_LOG")
    os.environ["ESXISIM_VLCM_LOG"] = vlcm_log   # read by the simulator process at start
    try:
        return sim_factory("vc", topology=TOPOLOGY, reboot_down=0.5)
    finally:
        if old is None:
            os.environ.pop("ESXISIM_VLCM_LOG", None)
        else:
            os.environ["ESXISIM_VLCM_LOG"] = old


@pytest.fixture(scope="module")
def depots(_depot_server_module):  # noqa: F811
    """The local depot server with the SYNTHETIC ESXi 8.0.3 update (base image 8.0.3-0.0.24022510) and the real
    USB NIC fling bundles (component VMware-vmkusb-nic-fling)."""
    from tests.integration.patch.patch_sim_helpers import REAL_BUNDLES
    srv = _depot_server_module
    upd = srv.make_esxi_update_depot()
    flings = [b for b in REAL_BUNDLES if "usb" in b.lower() or "nic" in b.lower()]
    return {"update": upd, "all": srv.make_depot("all", REAL_BUNDLES), "flings": flings, "srv": srv}


@pytest.fixture(autouse=True)
def spec_checked(request, vlcm_log):
    """After each test: every exchange logged during it validates against the spec."""
    start = len(read_log(vlcm_log))
    yield
    if "vlcm_sim" not in request.fixturenames:
        return
    import json
    lines = read_log(vlcm_log)[start:]
    tmp = vlcm_log + ".part"
    with open(tmp, "w") as fh:
        for ex in lines:
            fh.write(json.dumps(ex) + "\n")
    count, problems = validate_log(tmp)
    assert not problems, "exchanges that are not VMware's API:\n" + "\n".join(problems[:20])
    if getattr(request.module, "EXPECTS_API", True):     # the log is really written (no silent pass)
        assert count > 0, "no /api exchange was logged during the test"
