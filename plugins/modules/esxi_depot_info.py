#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: esxi_depot_info
short_description: Read the bulletins, VIBs, image profiles and components of VMware ESXi depots
version_added: 0.1.0
description:
  - Reads one or more ESXi software depots (offline bundles, C(metadata.zip) files, metadata folders such as
    an ESXi host's C(/var/db/esximg), standalone VIBs, and online HTTP(S) depots) and returns their content.
  - Read-only; nothing on any ESXi host is touched. Runs on the controller (or wherever the task runs).
  - "Hostile input is refused: XML with DTDs or entities, zip bombs, path traversal in archives, oversize or
    truncated files. Such a depot fails the task with a message naming the file and the problem."
author:
  - fleetpatch.esxi contributors (@fleetpatch)
requirements:
  - lxml
  - requests (for HTTP(S) depots)
extends_documentation_fragment:
  - fleetpatch.esxi.depot
  - fleetpatch.esxi.attributes
  - fleetpatch.esxi.attributes.info_module
notes:
  - Metadata is cached by the sha256 of its content. With O(cache_dir), a later run (or another host's task)
    reuses the parsed result and revalidates downloads with ETag/Last-Modified.
  - Release dates are returned in ISO 8601 with a UTC offset; a date without a zone in the metadata is read as UTC.
  - "A C(metadata.zip) without C(bulletins/) and C(vibs/) is read from its legacy C(vmware.xml); that format has
    no acceptance level, so its VIBs are reported as V(community)."
seealso:
  - name: VMware vSphere Lifecycle Manager depots
    description: What online and offline depots are.
    link: https://techdocs.broadcom.com/us/en/vmware-cis/vsphere/vsphere/8-0/managing-host-and-cluster-lifecycle.html
"""

EXAMPLES = r"""
- name: Read an offline bundle
  fleetpatch.esxi.esxi_depot_info:
    depot:
      - /srv/depots/VMware-ESXi-8.0U3e-24674464-depot.zip
  register: depot

- name: Show the image profiles
  ansible.builtin.debug:
    msg: "{{ depot.profiles | map(attribute='name') | list }}"

- name: Read the ESXi 8.0 part of an online depot through a proxy, caching downloads and parsed metadata
  fleetpatch.esxi.esxi_depot_info:
    depot:
      - "https://dl.broadcom.com/{{ broadcom_token }}/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml"
    product_line: embeddedEsx
    version: 8.0.3
    proxy: http://proxy.example.com:3128
    cache_dir: /var/cache/fleetpatch
  register: online

- name: Merge a base depot, a driver component and a standalone VIB
  fleetpatch.esxi.esxi_depot_info:
    depot:
      - /srv/depots/VMware-ESXi-8.0U3e-24674464-depot.zip
      - /srv/drivers/Intel-esx-nvmupdaten64e_1.43.28.0-800.20613240.zip
      - /srv/vibs/ghettoVCB.vib
  register: merged

- name: Newest VMware USB NIC fling VIB in the depots
  ansible.builtin.debug:
    msg: >-
      {{ merged.vibs | selectattr('name', 'equalto', 'vmkusb-nic-fling')
         | map(attribute='version') | list }}

- name: Read the image database copied from a host
  fleetpatch.esxi.esxi_depot_info:
    depot:
      - /tmp/esx01/var/db/esximg
  register: host_db
"""

RETURN = r"""
bulletins:
  description: The bulletins of the depots, sorted by id.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Bulletin id.
      type: str
      sample: VMware-vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077
    vendor:
      description: Vendor name.
      type: str
      sample: VMware
    summary:
      description: One-line summary.
      type: str
    description:
      description: Longer description.
      type: str
    severity:
      description: Severity as written (V(general), V(important), V(critical), V(security), ...).
      type: str
      sample: general
    category:
      description: Category as written (V(general), V(enhancement), V(bugfix), V(security), ...).
      type: str
      sample: enhancement
    urgency:
      description: Urgency as written.
      type: str
      sample: important
    release_type:
      description: Release type as written (V(extension), V(patch), V(update), V(rollup), ...).
      type: str
      sample: extension
    release_date:
      description: Release date, ISO 8601.
      type: str
      sample: "2024-06-25T07:17:37.319000+00:00"
    kb_url:
      description: Knowledge base URL, if any.
      type: str
    contact:
      description: Contact, if any.
      type: str
    platforms:
      description: The platforms the bulletin applies to.
      type: list
      elements: dict
      contains:
        product_line:
          description: Product line id.
          type: str
          sample: embeddedEsx
        version:
          description: Version pattern.
          type: str
          sample: "8.0"
        locale:
          description: Locale (usually empty).
          type: str
    vib_ids:
      description: Ids of the VIBs in the bulletin.
      type: list
      elements: str
    component:
      description: The ESXi 7.0+ component identity (C(componentNameSpec)/C(componentVersionSpec)), or null.
      type: dict
      contains:
        name:
          description: Component name.
          type: str
          sample: VMware-vmkusb-nic-fling
        version:
          description: Component version.
          type: str
          sample: 1.14-1vmw.803.0.0.75399077
        display_name:
          description: Display name (C(uiString)).
          type: str
        display_version:
          description: Display version (C(uiString)).
          type: str
vibs:
  description: The VIBs of the depots, sorted by id.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: VIB id, C(<vendor>_<type>_<name>_<version>).
      type: str
      sample: VMW_bootbank_vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077
    name:
      description: VIB name.
      type: str
    version:
      description: VIB version.
      type: str
    vendor:
      description: Vendor code.
      type: str
    type:
      description: VIB type (V(bootbank), V(locker), ...).
      type: str
    acceptance_level:
      description: Acceptance level.
      type: str
      choices: [certified, accepted, partner, community]
    summary:
      description: Summary.
      type: str
    description:
      description: Description.
      type: str
    release_date:
      description: Release date, ISO 8601.
      type: str
    install_date:
      description: Install date (installed-host records only), ISO 8601, or null.
      type: str
    depends:
      description: Dependencies.
      type: list
      elements: dict
      contains:
        name:
          description: Name of the VIB or provided feature.
          type: str
        relation:
          description: V(<<), V(<=), V(=), V(>=), V(>>), or null for any version.
          type: str
        version:
          description: Version, or null.
          type: str
    conflicts:
      description: Conflicts, like RV(vibs[].depends).
      type: list
      elements: dict
    replaces:
      description: Replaced VIBs, like RV(vibs[].depends).
      type: list
      elements: dict
    provides:
      description: Provided features.
      type: list
      elements: dict
      contains:
        name:
          description: Feature name.
          type: str
        version:
          description: Version, or null.
          type: str
    maintenance_mode_required:
      description: Whether installing needs maintenance mode.
      type: bool
    live_install_allowed:
      description: Whether the VIB can be installed without a reboot.
      type: bool
    live_remove_allowed:
      description: Whether the VIB can be removed without a reboot.
      type: bool
    stateless_ready:
      description: Whether the VIB supports stateless (Auto Deploy) hosts.
      type: bool
    overlay:
      description: Whether the VIB overlays files of other VIBs.
      type: bool
    platforms:
      description: Software platforms required (empty = any), like RV(bulletins[].platforms).
      type: list
      elements: dict
    relative_path:
      description: Path of the C(.vib) relative to its metadata (depot records only), or null.
      type: str
    packed_size:
      description: Size of the C(.vib) in bytes (depot records only), or null.
      type: int
    checksum:
      description: Checksum of the C(.vib) (depot records only), or null.
      type: dict
      contains:
        type:
          description: Checksum type (V(sha-256), ...).
          type: str
        value:
          description: Hex digest.
          type: str
        verify_process:
          description: Verify process, or null.
          type: str
    payloads:
      description: Payloads of the VIB.
      type: list
      elements: dict
      contains:
        name:
          description: Payload name.
          type: str
        type:
          description: Payload type (V(vgz), V(tgz), V(vzstd), V(boot), ...).
          type: str
        size:
          description: Size in bytes.
          type: int
        uncompressed_size:
          description: Uncompressed size in bytes, or null.
          type: int
        compression_option:
          description: Compression option (for example V(level=18)), or null.
          type: str
        checksums:
          description: Checksums, like RV(vibs[].checksum).
          type: list
          elements: dict
    tags:
      description: Software tags.
      type: list
      elements: str
    urls:
      description: Reference URLs (C(key), C(url)).
      type: list
      elements: dict
profiles:
  description: The image profiles of the depots, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Profile name.
      type: str
      sample: ESXi-6.7.0-8169922-standard
    creator:
      description: Creator.
      type: str
    acceptance_level:
      description: Acceptance level of the profile.
      type: str
    vib_ids:
      description: VIB ids of the profile.
      type: list
      elements: str
    description:
      description: Description.
      type: str
    profile_id:
      description: Profile id, or null.
      type: str
    creation_time:
      description: Creation time, ISO 8601, or null.
      type: str
    modified_time:
      description: Modification time, ISO 8601, or null.
      type: str
    readonly:
      description: Whether the profile is read-only.
      type: bool
components:
  description: The ESXi 7.0+ components (bulletins with a component identity), sorted by name and version.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Component name.
      type: str
    version:
      description: Component version.
      type: str
    display_name:
      description: Display name.
      type: str
    display_version:
      description: Display version.
      type: str
    bulletin_id:
      description: Id of the bulletin that defines the component.
      type: str
    vendor:
      description: Vendor.
      type: str
    summary:
      description: Summary.
      type: str
    release_date:
      description: Release date, ISO 8601.
      type: str
    vib_ids:
      description: VIB ids of the component.
      type: list
      elements: str
counts:
  description: Number of bulletins, VIBs, profiles, components, base images and add-ons.
  returned: success
  type: dict
  sample: {"bulletins": 1, "vibs": 1, "profiles": 0, "components": 1, "base_images": 0, "addons": 0}
base_images:
  description: >-
    ESXi 7.0+ base images found in C(baseimages/) of a metadata.zip, as written (generic dicts; the format is
    assumed, no real sample was available). Usually empty.
  returned: success
  type: dict
addons:
  description: ESXi 7.0+ vendor add-ons found in C(addons/), like RV(base_images). Usually empty.
  returned: success
  type: dict
metadata:
  description: The C(vendor-index.xml) entries that were read (URLs redacted).
  returned: success
  type: list
  elements: dict
vib_files:
  description: Where each VIB's C(.vib) file is, when known (local path, C(<zip>#<member>) or redacted URL).
  returned: success
  type: dict
depot_digest:
  description: sha256 over the digests of the metadata read; equal digests mean equal depot content.
  returned: success
  type: str
sources:
  description: The depot sources read (URLs redacted).
  returned: success
  type: list
  elements: str
depot_warnings:
  description: Non-fatal notes, for example a source with no metadata for the requested version.
  returned: success
  type: list
  elements: str
"""

from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.depot_argspec import (
    depot_argument_spec, depot_params,
)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.info import depot_info


def main():
    spec = depot_argument_spec()
    module = FleetpatchModule(spec, secret_urls=("depot", "proxy"), supports_check_mode=True)
    module.run(lambda ctx: depot_info(depot_params(ctx.params)))


if __name__ == "__main__":
    main()
