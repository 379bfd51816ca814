# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: esxi_hosts
short_description: The ESXi hosts of a vCenter Server as an inventory
version_added: 0.2.0
description:
  - Reads every ESXi host of a vCenter Server (or the one host of a standalone ESXi) in one property-collector call
    and makes it an inventory host named as vCenter names it, with its version, build, cluster, datacenter,
    connection and maintenance state, and whether its cluster is managed with a single image (vLCM).
  - Every host is in the group O(group_name) (default C(esxi_hosts), the group the playbooks of this collection
    target), and in groups by cluster, datacenter, version and build (O(group_by)). C(compose), C(groups) and
    C(keyed_groups) add variables and groups from Jinja2 expressions; O(filters) keeps only some hosts.
  - Read-only. The connection options and environment variables are those of the modules. The password is never
    put into host variables or the cache; the playbooks take it from the E(VMWARE_PASSWORD) environment variable
    (the AWX VMware vCenter credential sets it).
  - The inventory file name must end with C(esxi_hosts.yml) or C(esxi_hosts.yaml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
requirements:
  - pyvmomi
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [fleetpatch.esxi.esxi_hosts]
    type: str
  hostname:
    description: The vCenter Server (or standalone ESXi host) to read.
    type: str
    required: true
    env:
      - name: VMWARE_HOST
  username:
    description: The user name for O(hostname).
    type: str
    required: true
    aliases: [user]
    env:
      - name: VMWARE_USER
  password:
    description:
      - The password of O(username). Never cached and never put into host variables.
    type: str
    required: true
    aliases: [pass, pwd]
    env:
      - name: VMWARE_PASSWORD
  port:
    description: The HTTPS port of O(hostname).
    type: int
    default: 443
    env:
      - name: VMWARE_PORT
  validate_certs:
    description: Whether to verify the TLS certificate of O(hostname).
    type: bool
    default: true
    env:
      - name: VMWARE_VALIDATE_CERTS
  ca_path:
    description: A PEM file or directory of CA certificates to verify O(hostname) with.
    type: path
    env:
      - name: VMWARE_CA_PATH
  proxy_host:
    description: An HTTP proxy (CONNECT tunnel) for the requests to O(hostname).
    type: str
    env:
      - name: VMWARE_PROXY_HOST
  proxy_port:
    description: The port of O(proxy_host) (default V(80)).
    type: int
    env:
      - name: VMWARE_PROXY_PORT
  group_name:
    description:
      - The group of every host read. The playbooks of this collection target C(esxi_hosts) by default.
    type: str
    default: esxi_hosts
  group_by:
    description:
      - Add each host to a group per value of these properties, named C(<property>_<value>) with characters
        that are not valid in group names replaced by C(_), for example C(cluster_C1), C(datacenter_DC1),
        C(version_8_0_2), C(build_22380479).
    type: list
    elements: str
    choices: [cluster, datacenter, version, build]
    default: [cluster, datacenter, version, build]
  connection_vars:
    description:
      - Set C(vmware_hostname), C(vmware_port), C(vmware_username), C(vmware_validate_certs), C(vmware_ca_path) (and
        the proxy) on every host, the variables the playbooks of this collection connect with. Never the password.
    type: bool
    default: true
  filters:
    description:
      - Jinja2 conditions on the host variables (C(esxi_version), C(esxi_cluster), ...). Only hosts for which
        every condition is true are kept.
    type: list
    elements: str
    default: []
    aliases: [filter_expressions]
notes:
  - Host variables of each host, read once per inventory run (or from the cache) - C(ansible_host) (the host name
    as vCenter knows it), C(esxi_name), C(esxi_moid), C(esxi_version), C(esxi_build), C(esxi_cluster),
    C(esxi_datacenter), C(esxi_connection_state), C(esxi_power_state), C(esxi_in_maintenance_mode) and
    C(esxi_image_managed) (true when its cluster is managed with a single image, null when that cannot be told).
  - The tasks of the collection's roles run on the controller (C(delegate_to) localhost) and reach the hosts through
    vCenter, so no SSH connection to the ESXi hosts is made.
  - AWX job slicing splits the hosts of this inventory into slices that run as separate jobs. The collection keeps no
    mutable state shared between them (each slice logs in on its own; scan records are written per host); see
    the README.
"""

EXAMPLES = r"""
# esxi_hosts.yml (credentials from the VMWARE_* environment variables, as an AWX VMware credential sets them)
plugin: fleetpatch.esxi.esxi_hosts
hostname: vcenter.example.com
validate_certs: true
ca_path: /etc/pki/tls/certs/vcenter-ca.pem

# A second file, prod.esxi_hosts.yml: only connected hosts of clusters not managed with a single image, a group
# for hosts in maintenance mode, a group per major version, cached for an hour:
#
# plugin: fleetpatch.esxi.esxi_hosts
# hostname: vcenter.example.com
# filters:
#   - esxi_connection_state == 'connected'
#   - not (esxi_image_managed | default(false))
# groups:
#   in_maintenance: esxi_in_maintenance_mode
# keyed_groups:
#   - key: esxi_version.split('.')[0]
#     prefix: esxi_major
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.ansible/fleetpatch/inventory-cache
# cache_timeout: 3600
"""

import re

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import FleetpatchError

try:  # ansible-core 2.19+: an expression built here from the (trusted) configuration must be marked trusted
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 has no data tagging
    def trust_as_template(value):
        return value

CONNECTION_KEYS = ("hostname", "port", "username", "validate_certs", "ca_path", "proxy_host", "proxy_port")


def group_safe(value):
    return re.sub(r"[^A-Za-z0-9_]", "_", str(value))


def _text(value):
    """Plain str (pyVmomi enums are str subclasses Ansible cannot store) or None."""
    return None if value is None else str(value)


def read_hosts(params):
    """Every ESXi host of ``params['hostname']`` as plain records (no secret). One login, one bulk facts read,
    one image-management read per cluster."""
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    try:
        from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vlcm import host_image_managed
    except ImportError:   # the vLCM client is optional for this plugin
        host_image_managed = None
    records = []
    with VSphereClient.from_params(params) as client:
        hosts = client.find_hosts()
        facts = {}
        if hasattr(client, "hosts_facts"):     # one property-collector call for every host
            facts = client.hosts_facts(hosts)
        managed = {}
        for h in hosts:
            f = facts.get(h.moid) or client.host_facts(h)
            key = (f.get("datacenter"), f.get("cluster"))
            if key not in managed:
                managed[key] = host_image_managed(client, h) if host_image_managed and f.get("cluster") else (
                    False if client.is_vcenter else None)
            records.append({
                "name": _text(f.get("name") or h.name), "moid": _text(h.moid), "version": _text(f.get("version")),
                "build": _text(f.get("build")), "cluster": _text(f.get("cluster")),
                "datacenter": _text(f.get("datacenter")), "connection_state": _text(f.get("connection_state")),
                "power_state": _text(f.get("power_state")),
                "in_maintenance_mode": bool(f.get("in_maintenance_mode")), "image_managed": managed[key],
            })
    return records


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "fleetpatch.esxi.esxi_hosts"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(("esxi_hosts.yml", "esxi_hosts.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        params = {k: self.get_option(k) for k in CONNECTION_KEYS + ("password",)}
        cache_key = self.get_cache_key(path)
        use_cache = cache and self.get_option("cache")
        records = None
        if use_cache:
            try:
                records = self._cache[cache_key]
            except KeyError:
                records = None
        if records is None:
            try:
                records = read_hosts(params)
            except FleetpatchError as exc:
                raise AnsibleError("fleetpatch.esxi.esxi_hosts: %s" % exc)
            except ImportError as exc:
                raise AnsibleError("fleetpatch.esxi.esxi_hosts needs pyvmomi: %s" % exc)
        if self.get_option("cache"):
            self._cache[cache_key] = records     # host records only: no password, no session
        self._populate(records, params)

    def _populate(self, records, params):
        group = self.get_option("group_name")
        self.inventory.add_group(group)
        strict = self.get_option("strict")
        for rec in records:
            hostvars = {
                "ansible_host": rec["name"], "esxi_name": rec["name"], "esxi_moid": rec["moid"],
                "esxi_version": rec["version"], "esxi_build": rec["build"], "esxi_cluster": rec["cluster"],
                "esxi_datacenter": rec["datacenter"], "esxi_connection_state": rec["connection_state"],
                "esxi_power_state": rec["power_state"], "esxi_in_maintenance_mode": rec["in_maintenance_mode"],
                "esxi_image_managed": rec["image_managed"],
            }
            if self.get_option("connection_vars"):
                for key in CONNECTION_KEYS:
                    if params.get(key) is not None:
                        hostvars["vmware_%s" % key] = params[key]
            if not self._keep(hostvars):
                continue
            name = rec["name"]
            self.inventory.add_host(name, group=group)
            for var, value in hostvars.items():
                self.inventory.set_variable(name, var, value)
            for prop in self.get_option("group_by"):
                value = rec.get(prop)
                if value:
                    sub = "%s_%s" % (prop, group_safe(value))
                    self.inventory.add_group(sub)
                    self.inventory.add_child(sub, name)
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)

    def _keep(self, hostvars):
        for expr in self.get_option("filters") or []:
            try:
                result = self._compose(trust_as_template("((%s) and True) or False" % expr), hostvars)
            except Exception as exc:  # pylint: disable=broad-except
                raise AnsibleParserError("fleetpatch.esxi.esxi_hosts: cannot evaluate the filter %r: %s" % (expr, exc))
            if result not in (True, "True"):
                return False
        return True
