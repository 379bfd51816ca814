# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The spec validator of tests/helpers/openapi.py against VMware's own Swagger files (no server needed)."""

from __future__ import annotations

import pytest

from tests.helpers.openapi import SpecViolation, spec

C = "/api/esx/settings/clusters/domain-c7/software"


def test_match_picks_the_action_operation():
    op = spec().match("POST", "https://vc:443" + C + "?action=check&vmw-task=true")
    assert op.key.endswith("/software?action=check&vmw-task=true")
    assert op.operation_id == "check$task"
    assert spec().match("POST", C + "?vmw-task=true&action=apply").operation_id == "apply$task"
    assert spec().match("GET", C).operation_id == "get"
    assert spec().match("GET", "/api/cis/tasks/52b6-1").spec_name == "cis-8.0.2.json"


def test_unknown_request_fails():
    with pytest.raises(SpecViolation, match="no operation"):
        spec().match("GET", "/api/esx/settings/clusters/domain-c7/softwares")
    with pytest.raises(SpecViolation, match="no operation"):
        spec().match("PUT", C)                      # no PUT on the software document
    with pytest.raises(SpecViolation, match="vmw-task"):
        spec().match("POST", C + "?action=check")   # the real operation needs vmw-task=true
    with pytest.raises(SpecViolation, match="not a parameter"):
        spec().match("GET", C + "?verbose=true")


def test_query_parameters_are_typed():
    assert spec().match("GET", "/api/vcenter/cluster?names=C1&names=C2").operation_id == "list"
    with pytest.raises(SpecViolation, match="not a boolean"):
        spec().match("GET", "/api/cis/tasks/t1?return_all=yes")


def test_request_body_validated_strictly():
    spec().validate_request("POST", C + "?action=apply&vmw-task=true", {"accept_eula": True, "hosts": ["host-21"]})
    with pytest.raises(SpecViolation, match="Additional properties"):
        spec().validate_request("POST", C + "?action=apply&vmw-task=true", {"accept_eula": True, "parallel": 2})
    with pytest.raises(SpecViolation, match="is not of type"):
        spec().validate_request("POST", C + "?action=check&vmw-task=true", {"hosts": "host-21"})
    with pytest.raises(SpecViolation, match="takes no body"):
        spec().validate_request("POST", C + "/drafts", {"message": "x"})
    with pytest.raises(SpecViolation, match="'version' is a required property"):
        spec().validate_request("PUT", C + "/drafts/1/software/base-image", {"ver": "8.0.3"})


def test_session_header_required_where_the_spec_says():
    spec().validate_request("POST", "/api/session", None, headers={"Authorization": "Basic x"})
    with pytest.raises(SpecViolation, match="vmware-api-session-id"):
        spec().validate_request("GET", C, None, headers={})
    spec().validate_request("GET", C, None, headers={"Vmware-Api-Session-Id": "abc"})


def test_response_validated_strictly():
    good = {"base_image": {"version": "8.0.2-0.0.22380479"}, "components": {}, "solutions": {}}
    spec().validate_response("GET", C, 200, good)
    with pytest.raises(SpecViolation, match="'solutions' is a required property"):
        spec().validate_response("GET", C, 200, {"base_image": {"version": "x"}, "components": {}})
    with pytest.raises(SpecViolation, match="Additional properties"):
        spec().validate_response("GET", C, 200, dict(good, extra=1))
    with pytest.raises(SpecViolation, match="Additional properties"):   # nested, through $ref and a map
        spec().validate_response("GET", C, 200, dict(good, components={"x": {"version": "1", "vendor": "v"}}))
    with pytest.raises(SpecViolation, match="not declared"):
        spec().validate_response("GET", C, 418, good)
    with pytest.raises(SpecViolation, match="no body is declared"):
        spec().validate_response("DELETE", C + "/drafts/1", 204, {"x": 1})
    spec().validate_response("DELETE", C + "/drafts/1", 204, None)
    err = {"error_type": "NOT_FOUND", "messages": [{"id": "x", "default_message": "no", "args": []}]}
    spec().validate_response("GET", C, 404, err)
    with pytest.raises(SpecViolation, match="is not one of"):
        spec().validate_response("GET", C, 404, dict(err, error_type="MISSING"))


def test_open_objects_stay_open():
    # CisTaskInfo.result is declared as a bare object: any content passes
    task = {"description": {"id": "d", "default_message": "m", "args": []}, "service": "s", "operation": "o",
            "status": "SUCCEEDED", "cancelable": False, "result": {"anything": [1, 2]}}
    spec().validate_response("GET", "/api/cis/tasks/t-1", 200, task)
    with pytest.raises(SpecViolation, match="is not one of"):
        spec().validate_response("GET", "/api/cis/tasks/t-1", 200, dict(task, status="DONE"))
