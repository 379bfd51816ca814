#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vib_profile_validate
short_description: Validate an ESXi image profile or a set of VIBs against depots, as Image Builder does
version_added: 0.1.0
description:
  - Builds an image (an image profile of the depots, or a list of VIBs), optionally removes and adds VIBs, and
    checks it with VMware Image Builder's rules, without touching any ESXi host.
  - "Rules: every VIB the profile lists exists; one version per VIB name (an added VIB takes the place of the
    VIB of the same name, and of what its C(replaces) constraints retire); every C(depends) is satisfied by a
    VIB or a provided feature, with its version relation; no C(conflicts) constraint matches; every VIB is at or
    above the minimum acceptance level; every VIB's platforms fit the image's ESXi version (from its
    C(esx-base))."
  - On request also checks VIB signatures against a trust store, payload checksums inside the C(.vib) files,
    and VMware's file-path (extensibility) rules for partner and community VIBs.
  - Every problem is returned as a typed finding. See the C(docs/validation.md) file of the collection for the
    rule table.
  - Read-only. Runs on the controller (or wherever the task runs).
author:
  - fleetpatch.esxi contributors (@fleetpatch)
requirements:
  - lxml
  - cryptography and asn1crypto (with O(verify_signatures))
  - zstandard (optional, to verify the decompressed checksums of ESXi 9 C(vzstd) payloads)
extends_documentation_fragment:
  - fleetpatch.esxi.depot
  - fleetpatch.esxi.attributes
  - fleetpatch.esxi.attributes.info_module
options:
  profile:
    description:
      - Name of the image profile (in the depots) to validate, for example V(ESXi-8.0U3e-24674464-standard).
      - Exactly one of O(profile) and O(vibs) is required.
    type: str
  vibs:
    description:
      - The VIBs of the image to validate, instead of O(profile).
      - Each entry is a VIB id (V(VMW_bootbank_vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077)), a VIB name (the
        newest version in the depots is used) or C(name:version).
    type: list
    elements: str
  add_vibs:
    description:
      - VIBs to add (ids, names or C(name:version)), after O(remove_vibs).
      - As in Image Builder, an added VIB takes the place of the VIB of the same name (whatever its version; a
        downgrade is reported) and of every VIB its C(replaces) constraints match.
    type: list
    elements: str
    default: []
  remove_vibs:
    description:
      - VIBs to remove from the image (ids, names or C(name:version)). Each must be in the image.
    type: list
    elements: str
    default: []
  acceptance_level:
    description:
      - The minimum acceptance level every VIB must have.
      - Defaults to the image profile's own acceptance level; with O(vibs), no acceptance check is made.
    type: str
    choices: [certified, accepted, partner, community, VMwareCertified, VMwareAccepted, PartnerSupported,
              CommunitySupported]
  verify_signatures:
    description:
      - Verify the PKCS#7 signature (C(sig.pkcs7)) of every VIB whose C(.vib) file the depots hold, and of every
        record of an ESXi image database (C(X.xml.sig) over C(X.xml.orig)).
      - Requires O(trust_store).
    type: bool
    default: false
  trust_store:
    description:
      - PEM (or DER) files with the certificates to trust, and optionally CRLs.
      - VMware's are C(/usr/share/certs/vmware.cert) and C(/usr/share/certs/vmpartner.cert) on an ESXi host.
      - Required with O(verify_signatures=true).
    type: list
    elements: path
  signature_expiry:
    description:
      - How certificate validity dates are checked.
      - V(signing_time) checks each certificate of the chain at the signature's signing time (no date check when
        the signature has none); a certificate expired since then gives an C(expired_signer) info finding.
        VMware's 2008 and 2019 signing certificates have expired while images signed with them are in use.
      - V(now) requires every certificate to be valid today. V(ignore) never checks dates.
    type: str
    choices: [signing_time, now, ignore]
    default: signing_time
  verify_checksums:
    description:
      - Verify every payload checksum listed in each VIB's descriptor against the payloads inside the C(.vib),
        and the checksum of the whole C(.vib) from the depot metadata.
    type: bool
    default: false
  check_file_paths:
    description:
      - Check that partner and community VIBs install files only where VMware's extensibility rules allow.
    type: bool
    default: false
  extensibility_schema:
    description:
      - A C(vib20-extensibility.rng) RelaxNG schema (from C(/usr/share/esximage/schemas) on an ESXi host) to
        validate the descriptors with, instead of the built-in rules (those of ESXi 6.7).
    type: path
  base_profile:
    description:
      - Name of another image profile of the depots; the result then includes RV(diff), the difference from it.
    type: str
  fail_on:
    description:
      - Fail the task when a finding of this severity (or a worse one) is found.
      - V(error) fails on an invalid image. V(warning) also fails on warnings. V(never) only reports.
    type: str
    choices: [error, warning, never]
    default: error
notes:
  - A failed validation returns the same keys as a successful one (RV(valid), RV(findings), ...), so a
    C(rescue) or C(ignore_errors) task can still read them.
  - Checks that need a C(.vib) (signatures, checksums) are made only for VIBs whose file the depots hold
    (offline bundles, standalone VIBs, HTTP depots); the others are listed under C(not_checked) in RV(checks).
seealso:
  - module: fleetpatch.esxi.esxi_depot_info
  - name: Image Profile Validation (VMware Image Builder)
    description: The rules Image Builder applies.
    link: https://techdocs.broadcom.com/us/en/vmware-cis/vsphere/vsphere/8-0/esxi-installation-and-setup-8-0.html
"""

EXAMPLES = r"""
- name: Validate a standard image profile of an offline bundle
  fleetpatch.esxi.vib_profile_validate:
    depot:
      - /srv/depots/VMware-ESXi-8.0U3e-24674464-depot.zip
    profile: ESXi-8.0U3e-24674464-standard
  register: check

- name: Would removing a VIB break the image? Report only, never fail
  fleetpatch.esxi.vib_profile_validate:
    depot:
      - /srv/depots/VMware-ESXi-8.0U3e-24674464-depot.zip
    profile: ESXi-8.0U3e-24674464-standard
    remove_vibs:
      - vmkusb
    fail_on: never
  register: removal

- name: Show who depends on it
  ansible.builtin.debug:
    msg: "{{ removal.findings | selectattr('type', 'equalto', 'missing_dependency') | map(attribute='vib') | list }}"

- name: Customised image with a driver component and a community VIB, full content checks
  fleetpatch.esxi.vib_profile_validate:
    depot:
      - /srv/depots/VMware-ESXi-8.0U3e-24674464-depot.zip
      - /srv/drivers/Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip
      - /srv/vibs/ghettoVCB.vib
    profile: ESXi-8.0U3e-24674464-standard
    add_vibs:
      - nvmupdaten64e
      - ghettoVCB
    acceptance_level: CommunitySupported
    verify_signatures: true
    trust_store:
      - /etc/fleetpatch/vmware.cert
      - /etc/fleetpatch/vmpartner.cert
    verify_checksums: true
    check_file_paths: true
    base_profile: ESXi-8.0U3e-24674464-standard
  register: custom

- name: Validate the image database copied from a host
  fleetpatch.esxi.vib_profile_validate:
    depot:
      - /tmp/esx01/var/db/esximg
    profile: ESXi-6.7.0-8169922-standard

# GitOps: a merge-request pipeline job (for example "ansible-playbook ci/validate-image.yml") runs these tasks
# on the image definition kept in Git (images/esx-prod.yml, loaded with vars_files: depots, profile,
# add_vibs, remove_vibs, trust_store). The validation task fails on an error or a warning, which fails the
# job and blocks the merge; the report is kept as a job artifact either way.
- name: Gate a merge request on the proposed image
  block:
    - name: Validate the image the merge request proposes
      fleetpatch.esxi.vib_profile_validate:
        depot: "{{ image.depots }}"
        profile: "{{ image.profile }}"
        add_vibs: "{{ image.add_vibs | default([]) }}"
        remove_vibs: "{{ image.remove_vibs | default([]) }}"
        verify_signatures: true
        trust_store: "{{ image.trust_store }}"
        verify_checksums: true
        check_file_paths: true
        base_profile: "{{ image.profile }}"
        fail_on: warning
      register: validation
  always:
    - name: Keep the findings and the diff as a pipeline artifact
      ansible.builtin.copy:
        content: "{{ validation | to_nice_json }}"
        dest: "{{ lookup('ansible.builtin.env', 'CI_PROJECT_DIR') | default('.', true) }}/image-validation.json"
        mode: "0644"
"""

RETURN = r"""
valid:
  description: Whether the image has no C(error) finding.
  returned: always (also in a failed result caused by O(fail_on))
  type: bool
  sample: true
findings:
  description: The problems found, errors first, then warnings, then info.
  returned: always (also in a failed result caused by O(fail_on))
  type: list
  elements: dict
  contains:
    type:
      description:
        - V(missing_vib), V(missing_dependency), V(conflict), V(duplicate_name), V(replaced),
          V(acceptance_level), V(platform_mismatch), V(unsigned), V(signature_invalid), V(expired_signer),
          V(checksum_mismatch) or V(file_path).
      type: str
      sample: missing_dependency
    severity:
      description: V(error), V(warning) or V(info).
      type: str
      sample: error
    vib:
      description: Id of the VIB the finding is about.
      type: str
      sample: VMW_bootbank_ata-pata-amd_0.3.10-3vmw.670.0.0.8169922
    detail:
      description: What is wrong, in words (names the constraint, file, payload or certificate).
      type: str
      sample: >-
        VMW_bootbank_ata-pata-amd_0.3.10-3vmw.670.0.0.8169922 depends on com.vmware.libata-9.2.3.0, which no
        VIB in the image provides; available in the depot: VMW_bootbank_ata-libata-92_3.00.9.2-16vmw.670.0.0.8169922
    related:
      description:
        - Ids of the other VIBs involved (the conflicting VIB, the replacing VIB, the depot VIBs that would
          satisfy a missing dependency).
      type: list
      elements: str
counts:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {"error": 0, "warning": 1, "info": 2}
profile:
  description: The image that was validated.
  returned: always
  type: dict
  contains:
    name:
      description: The image profile name, or null for O(vibs).
      type: str
      sample: ESXi-6.7.0-8169922-standard
    acceptance_level:
      description: The minimum acceptance level applied, or the lowest level of the VIBs when none applied.
      type: str
      sample: partner
    vib_ids:
      description: The VIB ids of the image after O(remove_vibs) and O(add_vibs), sorted.
      type: list
      elements: str
    esx_version:
      description: The ESXi version the image's C(esx-base) provides, or null.
      type: str
      sample: 6.7.0
checks:
  description: What the optional checks covered; null for a check that was not requested.
  returned: always
  type: dict
  contains:
    signatures:
      description:
        - Counts C(verified), C(unsigned), C(invalid), C(expired_signer) and the list C(not_checked) (VIB ids
          without a C(.vib) or signed record in the depots).
      type: dict
    checksums:
      description:
        - Counts C(verified) and C(mismatched), the list C(not_verifiable) (checksums that cannot be recomputed,
          such as C(txt-mle)) and the list C(not_checked) (VIB ids without a C(.vib)).
      type: dict
    file_paths:
      description: Counts C(checked) (partner and community VIBs) and C(violations) (VIBs breaking the rules).
      type: dict
diff:
  description: The difference from O(base_profile), as Image Builder's C(Compare-EsxImageProfile) has it.
  returned: when O(base_profile) is given
  type: dict
  contains:
    base_profile:
      description: Name of the base profile.
      type: str
    added:
      description: VIB ids only in the validated image (new names, or another VIB id of an equal version).
      type: list
      elements: str
    removed:
      description: VIB ids only in the base profile.
      type: list
      elements: str
    upgraded:
      description: VIBs whose version is newer in the validated image.
      type: list
      elements: dict
      contains:
        name:
          description: VIB name.
          type: str
        from:
          description: VIB id in the base profile.
          type: str
        to:
          description: VIB id in the validated image.
          type: str
        from_version:
          description: Version in the base profile.
          type: str
        to_version:
          description: Version in the validated image.
          type: str
    downgraded:
      description: VIBs whose version is older in the validated image, like RV(diff.upgraded).
      type: list
      elements: dict
    unchanged:
      description: VIB ids in both.
      type: list
      elements: str
    unresolved:
      description: VIB ids the base profile lists but no depot holds.
      type: list
      elements: str
"""


from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.depot_argspec import (
    depot_argument_spec, depot_params)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule

ACCEPTANCE_CHOICES = ["certified", "accepted", "partner", "community", "VMwareCertified", "VMwareAccepted",
                      "PartnerSupported", "CommunitySupported"]


def argument_spec():
    spec = depot_argument_spec()
    spec.update(
        profile=dict(type="str"),
        vibs=dict(type="list", elements="str"),
        add_vibs=dict(type="list", elements="str", default=[]),
        remove_vibs=dict(type="list", elements="str", default=[]),
        acceptance_level=dict(type="str", choices=ACCEPTANCE_CHOICES),
        verify_signatures=dict(type="bool", default=False),
        trust_store=dict(type="list", elements="path"),
        signature_expiry=dict(type="str", choices=["signing_time", "now", "ignore"], default="signing_time"),
        verify_checksums=dict(type="bool", default=False),
        check_file_paths=dict(type="bool", default=False),
        extensibility_schema=dict(type="path"),
        base_profile=dict(type="str"),
        fail_on=dict(type="str", choices=["error", "warning", "never"], default="error"),
    )
    return spec


def validate(params):
    """The module result for ``params``; raises ``FleetpatchError`` (bad input, depot errors, ``fail_on``)."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import load_depot
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.validation import check_fail_on, validate_profile

    depot = load_depot(**depot_params(params))
    result = validate_profile(
        depot, profile=params["profile"], vibs=params["vibs"], add_vibs=params["add_vibs"],
        remove_vibs=params["remove_vibs"], acceptance_level=params["acceptance_level"],
        verify_signatures=params["verify_signatures"], trust_store=params["trust_store"],
        verify_checksums=params["verify_checksums"], check_file_paths=params["check_file_paths"],
        base_profile=params["base_profile"], signature_expiry=params["signature_expiry"],
        extensibility_schema=params["extensibility_schema"])
    result["changed"] = False
    return check_fail_on(result, params["fail_on"])


def main():
    module = FleetpatchModule(
        argument_spec(), secret_urls=("depot", "proxy"),
        mutually_exclusive=[("profile", "vibs")],
        required_one_of=[("profile", "vibs")],
        required_if=[("verify_signatures", True, ("trust_store",))],
        supports_check_mode=True,
    )
    module.run(lambda ctx: validate(ctx.params))


if __name__ == "__main__":
    main()
