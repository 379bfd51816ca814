# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # The hosts a module acts on; see target_argument_spec() in plugins/module_utils/_ansible/argspec.py
    DOCUMENTATION = r"""
options:
  esxi_hostname:
    description:
      - The ESXi hosts to act on, by their name in vCenter (or managed object id).
      - Connected to an ESXi host directly, the host itself is the target and this option is ignored.
      - Through vCenter, at least one of O(esxi_hostname), O(cluster_name) and O(datacenter) is required, so that
        a task never acts on every host of a vCenter by accident. They combine (the named hosts of that cluster).
      - One connection serves all the hosts.
    type: list
    elements: str
    aliases: [esxi_hostnames]
  cluster_name:
    description:
      - Every host of this cluster (vCenter only).
    type: str
    aliases: [cluster]
  datacenter:
    description:
      - Every host of this datacenter (vCenter only).
    type: str
    aliases: [datacenter_name]
"""
