# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""esxi_depot_info: the result built from real fixtures, the documented options = the argument spec,
and the RETURN fields = what the module returns."""

from __future__ import annotations

import json
import os

import yaml

from ansible_collections.fleetpatch.esxi.plugins.doc_fragments.depot import ModuleDocFragment
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.depot_argspec import (
    depot_argument_spec, depot_params,
)
from ansible_collections.fleetpatch.esxi.plugins.modules import esxi_depot_info as mod

from depot_oracle import HOST_DB, REAL, expect_bulletin, metadata_members, zip_tree

INTEL = os.path.join(REAL, "money114__ESXI-Customized-Drives/8.0u3/Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip")
SATA = os.path.join(REAL, "money114__ESXI-Customized-Drives/6.7u3/sata-xahci-1.42-1-offline_bundle.zip")


def _params(**kw):
    spec = depot_argument_spec()
    p = {k: v.get("default") for k, v in spec.items()}
    p.update(kw)
    return p


def test_result_of_real_sources():
    res = mod.depot_info(depot_params(_params(depot=[INTEL, SATA, HOST_DB])))
    json.dumps(res)                                    # JSON-safe
    assert res["changed"] is False
    assert res["counts"] == {"bulletins": 2, "vibs": 138, "profiles": 1, "components": 1, "base_images": 0,
                             "addons": 0}
    assert [v["id"] for v in res["vibs"]] == sorted(v["id"] for v in res["vibs"])
    (comp,) = res["components"]
    (key, members), = metadata_members(zip_tree(INTEL))
    e = expect_bulletin([d for n, d in members.items() if n.startswith("bulletins/")][0])
    assert (comp["name"], comp["version"], comp["bulletin_id"]) == (e["component"][0], e["component"][1], e["id"])
    assert comp["vib_ids"] == e["vib_ids"]
    intel_vib = [v for v in res["vibs"] if v["vendor"] == "INT"][0]
    assert intel_vib["acceptance_level"] == "accepted" and intel_vib["checksum"]["type"] == "sha-256"
    for field in ("depends", "conflicts", "replaces", "provides", "payloads", "platforms", "release_date",
                  "maintenance_mode_required", "live_install_allowed", "live_remove_allowed", "stateless_ready",
                  "relative_path", "packed_size"):
        assert field in intel_vib
    assert "files" not in intel_vib
    prof = res["profiles"][0]
    assert prof["name"] == "ESXi-6.7.0-8169922-standard" and len(prof["vib_ids"]) == 136
    assert res["sources"] == [INTEL, SATA, HOST_DB]
    assert len(res["depot_digest"]) == 64
    assert res["vib_files"]["VFrontDe_bootbank_sata-xahci_1.42-1"].endswith("#sata-xahci-1.42-1.x86_64.vib")
    assert {m["version"] for m in res["metadata"]} == {"8.0.0", "5.*", "6.*"}


def test_token_urls_are_redacted_in_results(monkeypatch):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import sources as _depot_sources
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.models import Depot, MetadataRef
    token = "AbCdEf0123456789AbCdEf0123456789"
    url = "https://dl.broadcom.com/%s/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml" % token

    def fake(**kw):
        d = Depot(sources=[_depot_sources.redact_url(kw["sources"][0])], digest="0" * 64)
        d.metadata.append(MetadataRef(url.replace("vmw-depot-index.xml", "esx/vmw/m.zip"), "embeddedEsx", "8.0"))
        d.vib_files["x"] = url.replace("vmw-depot-index.xml", "esx/vmw/vib20/x.vib")
        return d
    monkeypatch.setattr(_depot_sources, "load_depot", fake)
    res = mod.depot_info(depot_params(_params(depot=[url])))
    assert token not in json.dumps(res)
    assert res["sources"] == ["https://dl.broadcom.com/********/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml"]


def test_documented_options_match_the_argument_spec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = depot_argument_spec()
    assert set(doc) == set(spec)
    for name, opt in spec.items():
        d = doc[name]
        assert d["type"] == opt["type"], name
        assert d.get("default") == opt.get("default"), name
        assert d.get("required", False) == opt.get("required", False), name
        assert sorted(d.get("aliases", [])) == sorted(opt.get("aliases", [])), name
        assert d.get("elements") == opt.get("elements"), name
    connected = yaml.safe_load(ModuleDocFragment.CONNECTED)["options"]
    cspec = depot_argument_spec(with_connection=True)
    assert set(connected) == set(cspec) and "validate_certs" not in cspec
    assert depot_params({"depot": ["x"], "depot_validate_certs": False})["validate_certs"] is False
    assert depot_params({"depot": ["x"], "validate_certs": False})["validate_certs"] is False


def test_return_doc_lists_every_returned_key():
    ret = yaml.safe_load(mod.RETURN)
    res = mod.depot_info(depot_params(_params(depot=[INTEL, HOST_DB])))
    assert set(res) - {"changed"} == set(ret)
    documented_vib = set(ret["vibs"]["contains"])
    assert set(res["vibs"][0]) <= documented_vib
    assert set(res["bulletins"][0]) <= set(ret["bulletins"]["contains"])
    assert set(res["profiles"][0]) <= set(ret["profiles"]["contains"])
    assert set(res["components"][0]) <= set(ret["components"]["contains"])
    doc = yaml.safe_load(mod.DOCUMENTATION)
    assert doc["module"] == "esxi_depot_info"
    assert "fleetpatch.esxi.depot" in doc["extends_documentation_fragment"]
    yaml.safe_load(mod.EXAMPLES)
