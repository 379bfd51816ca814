#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: depot_build
short_description: Build a local ESXi depot folder from offline bundles and online depots
version_added: 0.1.0
description:
  - Builds a depot folder that ESXi hosts can use as an online depot once it is served over HTTP (see
    M(fleetpatch.esxi.depot_serve)). This is the way to patch air-gapped hosts.
  - The sources are offline bundles and component zips, and online depots (C(index.xml) and the
    C(vendor-index.xml) and C(metadata.zip) files it leads to), mirrored with their C(.vib) files. They can be
    mixed, for example the Broadcom online depot with a download token plus a vendor driver bundle.
  - "The folder holds C(index.xml), C(vendor-index.xml), C(metadata.zip) (the sources' own bulletin, VIB and
    image profile records, byte for byte) and every C(.vib) of the selection at the relative path its record
    names."
  - Every VIB is checked against the sha-256 checksum in its metadata record before it is put in place. A
    mismatch fails the task and leaves nothing behind.
  - Idempotent. A file is written only when its content changes, and C(metadata.zip) is built
    deterministically. VIBs already in place with the right checksum are neither downloaded nor copied again.
    Files of an earlier run that are no longer part of the depot are removed. Only files that this module
    wrote (listed in C(.fleetpatch-depot.json)) are ever deleted.
  - The metadata is written after the VIBs, so the folder never lists a VIB that it does not hold.
author:
  - fleetpatch.esxi contributors (@fleetpatch)
requirements:
  - lxml
  - requests (for online depots)
extends_documentation_fragment:
  - fleetpatch.esxi.depot
  - fleetpatch.esxi.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the sources (metadata only) and reports what would be downloaded, written and removed.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  dest:
    description:
      - The depot folder. It is created if it does not exist.
    type: path
    required: true
  bulletins:
    description:
      - Only put these bulletins (and the VIBs they name) in the depot.
      - If neither this option nor O(profiles) is set, everything that the sources hold goes into the depot
        (after the O(product_line) and O(version) filters).
    type: list
    elements: str
  profiles:
    description:
      - Only put these image profiles (and the VIBs they name) in the depot, together with O(bulletins).
    type: list
    elements: str
  vendor_name:
    description:
      - The vendor name that C(index.xml) shows.
    type: str
    default: fleetpatch.esxi
  vendor_code:
    description:
      - The vendor code that C(index.xml) shows.
    type: str
    default: FPE
  download_token:
    description:
      - A download token, such as a Broadcom download token. Every C({token}) in O(depot) is replaced with it,
        for example C(https://dl.broadcom.com/{token}/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml).
      - The task arguments then hold only the placeholder, and the token is masked wherever it could appear in
        results, messages and logs. Take it from a vault or a credential.
    type: str
notes:
  - Standalone C(.vib) files and metadata folders (such as a host's image database) cannot be sources, because
    they carry no depot metadata to copy. Wrap a standalone VIB in an offline bundle first.
  - "Download tokens in URLs (C(https://dl.broadcom.com/<token>/...)) are kept out of results, messages, logs
    and the manifest file. Prefer O(download_token) with a C({token}) placeholder, so that the token is not in
    the task arguments either."
seealso:
  - module: fleetpatch.esxi.depot_serve
  - module: fleetpatch.esxi.esxi_depot_info
"""

EXAMPLES = r"""
- name: Build a depot from offline bundles
  fleetpatch.esxi.depot_build:
    depot:
      - /srv/bundles/VMware-ESXi-8.0U3e-24674464-depot.zip
      - /srv/bundles/Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip
    dest: /srv/depot
  register: built

- name: Mirror the ESXi 8.0 part of the Broadcom online depot (the token stays out of the task arguments)
  fleetpatch.esxi.depot_build:
    depot:
      - https://dl.broadcom.com/{token}/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml
    download_token: "{{ broadcom_download_token }}"
    product_line: embeddedEsx
    version: 8.0.3
    bulletins:
      - ESXi_8.0.3-0.35.24280767
    dest: /srv/depot
    cache_dir: /var/cache/fleetpatch
    proxy: http://proxy.example.com:3128

- name: Serve it to the hosts
  fleetpatch.esxi.depot_serve:
    path: /srv/depot
    bind: 0.0.0.0
    port: 8080
"""

RETURN = r"""
dest:
  description: The depot folder.
  returned: success
  type: str
  sample: /srv/depot
index:
  description: The path of the depot's C(index.xml).
  returned: success
  type: str
  sample: /srv/depot/index.xml
counts:
  description: What the depot holds.
  returned: success
  type: dict
  sample: {"bulletins": 4, "vibs": 4, "profiles": 0, "metadata_records": 8}
bulletins:
  description: The ids of the bulletins in the depot.
  returned: success
  type: list
  elements: str
profiles:
  description: The names of the image profiles in the depot.
  returned: success
  type: list
  elements: str
platforms:
  description: The platforms that C(vendor-index.xml) lists (from the sources' vendor indexes).
  returned: success
  type: list
  elements: dict
  sample: [{"product_line": "embeddedEsx", "version": "8.0", "locale": ""}]
downloaded:
  description: The VIBs that were downloaded or copied (or would be, in check mode).
  returned: success
  type: list
  elements: str
bytes_copied:
  description: The number of bytes of VIB files downloaded or copied.
  returned: success
  type: int
written:
  description: The files, relative to O(dest), that were written (or would be, in check mode).
  returned: success
  type: list
  elements: str
  sample: [index.xml, metadata.zip, vendor-index.xml, vib20/net-r8125/Realtek_bootbank_net-r8125_9.011.00-10.vib]
removed:
  description: The files of an earlier run that were removed because they are no longer part of the depot.
  returned: success
  type: list
  elements: str
metadata_sha256:
  description: The sha256 of the C(metadata.zip) written. It is the same for the same content.
  returned: success
  type: str
depot_digest:
  description: The digest of the metadata read from the sources (as M(fleetpatch.esxi.esxi_depot_info) returns it).
  returned: success
  type: str
sources:
  description: The sources read (URLs redacted).
  returned: success
  type: list
  elements: str
depot_warnings:
  description: Non-fatal notes, for example a VIB without a checksum in its record.
  returned: success
  type: list
  elements: str
"""


from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.depot_argspec import depot_argument_spec
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.build import build_depot
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule


def main():
    spec = depot_argument_spec()
    spec.update(
        dest=dict(type="path", required=True),
        bulletins=dict(type="list", elements="str"),
        profiles=dict(type="list", elements="str"),
        vendor_name=dict(type="str", default="fleetpatch.esxi"),
        vendor_code=dict(type="str", default="FPE"),
        download_token=dict(type="str", no_log=True),
    )
    module = FleetpatchModule(spec, secret_urls=("depot", "proxy"), supports_check_mode=True)
    module.run(lambda ctx: build_depot(ctx.params, ctx.check_mode))


if __name__ == "__main__":
    main()
