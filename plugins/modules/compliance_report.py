#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: compliance_report
short_description: Write the patch compliance of ESXi hosts as JSON, JUnit XML and an HTML page
version_added: 0.1.0
description:
  - Takes the per-host results of M(fleetpatch.esxi.esxi_patch_scan) and writes a compliance report in up to
    three formats, and returns its summary.
  - "V(json): every host and cluster with its status, the reasons, and the missing bulletins by severity."
  - "V(junit): JUnit XML for CI pipelines. Each cluster is a test suite (standalone hosts get their own). Each
    host is a test case. A non-compliant host is a failure, and a host that could not be scanned is an error."
  - "V(html): a self-contained page with inline CSS and no scripts or external assets. It shows the status of
    each host and cluster, the hosts below the line at the top, and the missing bulletins by severity."
  - A compliance line (O(minimum_build), O(required_bulletins)) decides compliance when it is set. A host below
    the line is non-compliant. Without a line, a host is compliant when the scan found no selected bulletin
    missing.
  - The files are rewritten only when the content changes. Each file records a digest of the report without
    its timestamps. A rescan with the same outcome leaves the files as they are and reports C(changed=false).
  - One report covers both kinds of cluster. A host of a cluster managed with a single image (vSphere Lifecycle
    Manager, C(image_managed) in the scan result) is compliant or not by its vLCM compliance, from the
    O(cluster_images) results, not by the compliance line. Without its cluster's compliance such a host is reported
    as unknown (status V(error)), never as compliant.
  - Runs where the task runs (usually the controller, with C(delegate_to=localhost)). Talks to no host.
author:
  - fleetpatch.esxi contributors (@fleetpatch)
extends_documentation_fragment:
  - fleetpatch.esxi.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the report digest of each file before and after.
  idempotent:
    support: full
options:
  results:
    description:
      - The scan results. Accepted shapes are the registered result of M(fleetpatch.esxi.esxi_patch_scan) (a
        dict with C(hosts)), a list of such results, the registered result of a task with a loop (a dict with
        C(results)), or a list of per-host results.
      - A failed scan result counts as a failed scan (status V(error)) for each host it names.
      - When a host appears more than once, the newest scan (C(scanned_at)) is used.
      - Results without any host (V([]), V({}), a scan result with no C(hosts)) and malformed host entries
        fail the task naming what is wrong; the report never says "all 0 hosts compliant".
      - At least one of O(results) and O(record_dir) is required.
    type: raw
  record_dir:
    description:
      - A folder of per-host scan records, as M(fleetpatch.esxi.esxi_patch_scan) writes them with
        O(fleetpatch.esxi.esxi_patch_scan#module:scan_record_dir). Every record in it is part of the report, so
        the job slices of one rollout (AWX sliced jobs, several playbook runs) that scan into the same folder and
        write the same report give one complete report.
      - The report files are written under a lock (C(<dest>/.<basename>.lock)), so concurrent writers do not
        interleave; the report of the last writer holds every record written before it.
    type: path
    version_added: 0.2.0
  cluster_images:
    description:
      - The registered results of M(fleetpatch.esxi.esxi_cluster_image_info) for the image-managed clusters of the
        scanned hosts (one result, a list of them, or the registered result of a task with a loop).
      - For each such cluster the report shows its desired image (base image, add-on, components) and for each of
        its hosts the vLCM compliance (status, current and target base image, the components that are not
        compliant and, when the result was read with its C(depot) option, the bulletins behind them). That
        compliance decides whether such a host is compliant.
      - A failed result (registered with C(ignore_errors)) makes the hosts of its cluster unknown (status
        V(error)), with its message.
      - With O(record_dir), each result is also kept as a record of its cluster in C(<record_dir>/.clusters/)
        (written atomically; unchanged records are left alone), and the report reads the records of every
        cluster, so that the job slices of one rollout give one complete report. A result given here wins over
        the record of its cluster.
    type: raw
    version_added: 0.3.0
  expected_hosts:
    description:
      - The hosts the report must cover. A host of this list without a result is reported as not scanned
        (status V(error), a JUnit error), so a missing scan never passes a CI gate.
    type: list
    elements: str
    version_added: 0.2.0
  dest:
    description:
      - The folder to write the report files to. It is created if it does not exist.
    type: path
    required: true
  basename:
    description:
      - The base name of the files. The files are C(<basename>.json), C(<basename>-junit.xml) and
        C(<basename>.html).
    type: str
    default: compliance
  formats:
    description:
      - The formats to write.
    type: list
    elements: str
    choices: [json, junit, html]
    default: [json, junit, html]
  title:
    description:
      - The title of the report.
    type: str
    default: ESXi patch compliance
  minimum_build:
    description:
      - The lowest ESXi build that is compliant.
      - Either a build number, which applies to every host, or a dict that maps a version prefix (V(8.0),
        V(7.0.3) or V(*)) to a build number. The longest prefix that matches the host's version wins. A host
        whose version matches no entry is non-compliant.
      - The JSON text of such a dict is accepted too (survey answers are text).
    type: raw
  required_bulletins:
    description:
      - A baseline of bulletin ids that every host must have, either installed or superseded by something newer.
      - A bulletin that does not apply to a host's platform counts as present. A bulletin that the scanned
        depot does not hold makes the host non-compliant.
    type: list
    elements: str
    default: []
  clusters:
    description:
      - Maps a host name to a cluster name, or to a dict with C(cluster) and C(datacenter). Use it for results
        that do not say which cluster a host is in, such as scans of standalone hosts.
    type: dict
  mode:
    description:
      - The permissions of the report files, in octal.
    type: str
    default: "0644"
notes:
  - The HTML page follows the browser's light or dark colour scheme and prints without the page background.
seealso:
  - module: fleetpatch.esxi.esxi_patch_scan
"""

EXAMPLES = r"""
- name: Scan the hosts of a cluster
  fleetpatch.esxi.esxi_patch_scan:
    cluster_name: Prod
    depot_url: http://depot.example.com:8080/index.xml
  register: scan
  delegate_to: localhost

- name: Write the compliance report, with builds below the line marked non-compliant
  fleetpatch.esxi.compliance_report:
    results: "{{ scan }}"
    dest: /var/www/reports/esxi
    minimum_build:
      "8.0": 24022510
      "7.0": 21930508
  register: report
  delegate_to: localhost

- name: Fail when a host is below the line
  ansible.builtin.assert:
    that: report.summary.non_compliant == 0
    fail_msg: "Below the line: {{ report.summary.non_compliant_hosts | join(', ') }}"

- name: Only the JUnit file for a CI pipeline, with a baseline of required bulletins
  fleetpatch.esxi.compliance_report:
    results: "{{ scan }}"
    dest: "{{ lookup('ansible.builtin.env', 'CI_PROJECT_DIR') }}/reports"
    formats: [junit]
    required_bulletins:
      - VMware-vmkusb-nic-fling_1.14-1vmw.803.0.0.75399077
  delegate_to: localhost
"""

RETURN = r"""
summary:
  description: Fleet-wide counts.
  returned: success
  type: dict
  contains:
    hosts:
      description: Number of hosts in the report.
      type: int
      sample: 7
    compliant:
      description: Number of compliant hosts.
      type: int
      sample: 4
    non_compliant:
      description: Number of hosts below the line (or with missing bulletins, without a line).
      type: int
      sample: 3
    error:
      description: Number of hosts that could not be scanned.
      type: int
      sample: 0
    compliance_percent:
      description: Share of compliant hosts, in percent (100 when there are no hosts).
      type: float
      sample: 57.1
    clusters:
      description: Number of clusters (standalone hosts not counted).
      type: int
      sample: 2
    clusters_compliant:
      description: Number of clusters whose hosts are all compliant.
      type: int
      sample: 1
    missing_bulletins:
      description: Number of distinct bulletins missing on at least one host.
      type: int
      sample: 2
    missing_host_bulletins:
      description: Number of (host, missing bulletin) pairs.
      type: int
      sample: 5
    missing_by_severity:
      description: Distinct missing bulletins by severity, most severe first.
      type: dict
      sample: {"critical": 1, "general": 1}
    non_compliant_hosts:
      description: Names of the non-compliant hosts.
      type: list
      elements: str
      sample: ["esxi-01.example.com"]
    error_hosts:
      description: Names of the hosts that could not be scanned, or whose vLCM compliance is unknown.
      type: list
      elements: str
      sample: []
    image_managed_hosts:
      description: Number of hosts of image-managed (vLCM) clusters.
      type: int
      sample: 2
      version_added: 0.3.0
    status:
      description: The worst host status (V(non_compliant), V(error) or V(compliant)).
      type: str
      sample: non_compliant
hosts:
  description: One entry per host, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Host name.
      type: str
    cluster:
      description: Cluster name, or null for a standalone host.
      type: str
    datacenter:
      description: Datacenter name, when known.
      type: str
    status:
      description: V(compliant), V(non_compliant) or V(error).
      type: str
    reasons:
      description: Why the host is not compliant (empty when compliant).
      type: list
      elements: str
    version:
      description: ESXi version.
      type: str
    build:
      description: ESXi build.
      type: str
    missing:
      description: Number of missing bulletins.
      type: int
    missing_by_severity:
      description: Missing bulletins by severity.
      type: dict
    image_managed:
      description: Whether the host's cluster is managed with a single image (vLCM); null when unknown.
      type: bool
      version_added: 0.3.0
    vlcm:
      description:
        - For a host of an image-managed cluster, its vLCM compliance, C({status, impact, base_image {current,
          target, bulletins}, components [{name, current, target, status, bulletins}]}) (only the components
          that are not compliant; C(bulletins) when the cluster's result was read with a depot). Null when
          unknown or for other hosts.
      type: dict
      version_added: 0.3.0
  sample:
    - name: esxi-01.example.com
      cluster: Prod
      datacenter: DC1
      status: non_compliant
      reasons: ["build 22380479 is below the minimum build 24022510"]
      version: 8.0.2
      build: "22380479"
      missing: 2
      missing_by_severity: {"critical": 1, "general": 1}
clusters:
  description: One entry per cluster, and one for the standalone hosts of each datacenter.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Cluster name, or C(Standalone hosts).
      type: str
    datacenter:
      description: Datacenter name, when known.
      type: str
    standalone:
      description: Whether the entry groups standalone hosts.
      type: bool
    status:
      description: The worst status of its hosts.
      type: str
    hosts:
      description: Host names.
      type: list
      elements: str
    counts:
      description: Number of hosts in total (C(hosts)) and by status.
      type: dict
    image_managed:
      description: Whether the cluster is managed with a single image (vLCM).
      type: bool
      version_added: 0.3.0
    vlcm:
      description:
        - For an image-managed cluster, C({image {base_image, add_on, components}, status, impact, commit, error,
          recorded_at}), the desired image and the cluster's compliance status; null for other clusters.
      type: dict
      version_added: 0.3.0
summary_lines:
  description: The summary in a few lines for people (counts, clusters, hosts below the line with the reasons).
  returned: success
  type: list
  elements: str
  sample:
    - 4 of 7 hosts compliant (57.1%), 3 non-compliant, 0 not scanned
    - "missing bulletins by severity: critical 1, general 2"
    - "cluster Prod: non-compliant (0 of 3 hosts compliant)"
    - "below the line: esxi-01.example.com: build 22380479 is below the minimum build 24022510"
paths:
  description: The path of each report file, by format.
  returned: success
  type: dict
  sample: {"json": /var/www/reports/esxi/compliance.json, "junit": /var/www/reports/esxi/compliance-junit.xml,
           "html": /var/www/reports/esxi/compliance.html}
written:
  description: The formats that were written, or would be in check mode, because their content changed.
  returned: success
  type: list
  elements: str
  sample: [html, json, junit]
digest:
  description: sha256 of the report content without timestamps. It is the same for scans with the same outcome.
  returned: success
  type: str
generated_at:
  description: When the report was built (UTC, ISO 8601).
  returned: success
  type: str
  sample: "2026-11-21T10:15:02+00:00"
"""


from ansible_collections.fleetpatch.esxi.plugins.module_utils._ansible.module import FleetpatchModule
from ansible_collections.fleetpatch.esxi.plugins.module_utils._report.report import compliance_report


def main():
    module = FleetpatchModule(
        dict(
            results=dict(type="raw"),
            record_dir=dict(type="path"),
            expected_hosts=dict(type="list", elements="str"),
            cluster_images=dict(type="raw"),
            dest=dict(type="path", required=True),
            basename=dict(type="str", default="compliance"),
            formats=dict(type="list", elements="str", choices=["json", "junit", "html"],
                         default=["json", "junit", "html"]),
            title=dict(type="str", default="ESXi patch compliance"),
            minimum_build=dict(type="raw"),
            required_bulletins=dict(type="list", elements="str", default=[]),
            clusters=dict(type="dict"),
            mode=dict(type="str", default="0644"),
        ),
        required_one_of=[("results", "record_dir")],
        supports_check_mode=True,
    )
    module.run(lambda ctx: compliance_report(ctx.params, ctx.check_mode, ctx.diff_mode))


if __name__ == "__main__":
    main()
