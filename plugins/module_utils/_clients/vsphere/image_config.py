# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VSphereClient: ImageConfigManager (acceptance level, image profile, software packages) and esxcli. Breaking changes at any time."""

from __future__ import annotations


from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (  # noqa: F401 (re-exports)
    HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR, backoff_delays, endpoint_label, redact, require_pyvmomi, translate, vim, vmodl,
    wait_for_task)

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.convert import (
    _API_ACCEPTANCE, api_acceptance_name, iso, normalize_api_acceptance, package_record_dict, package_record_to_vib)

if HAS_PYVMOMI:
    from pyVmomi import SoapStubAdapter, VmomiSupport
else:  # pragma: no cover
    SoapStubAdapter = VmomiSupport = None



class ImageConfigMixin(object):
    """VSphereClient: ImageConfigManager (acceptance level, image profile, software packages) and esxcli."""

    # ---- ImageConfigManager --------------------------------------------------------------------------
    def _image_manager(self, host):
        return self._config_manager(host, "imageConfigManager", "image config manager")

    def acceptance_get(self, host):
        """Host acceptance level, normalized: certified | accepted | partner | community."""
        host = self.host(host)
        icm = self._image_manager(host)
        return normalize_api_acceptance(self._call(host, "read the acceptance level",
                                                   icm.HostImageConfigGetAcceptance))

    def acceptance_set(self, host, level):
        """Set the acceptance level (our names or any alias); {changed, before, after} (normalized)."""
        host = self.host(host)
        target = api_acceptance_name(level)
        before = self.acceptance_get(host)
        if before == _API_ACCEPTANCE[target]:
            return {"changed": False, "before": before, "after": before}
        icm = self._image_manager(host)
        self._call(host, "set the acceptance level to %s" % target, icm.UpdateHostImageAcceptanceLevel,
                   newAcceptanceLevel=target)
        return {"changed": True, "before": before, "after": self.acceptance_get(host)}

    def image_profile(self, host):
        """{name, vendor} of the host's image profile."""
        host = self.host(host)
        icm = self._image_manager(host)
        prof = self._call(host, "read the image profile", icm.HostImageConfigGetProfile)
        return {"name": getattr(prof, "name", None), "vendor": getattr(prof, "vendor", None)}

    def install_date(self, host):
        """When the host image was installed/last updated (ISO), from ``ImageConfigManager.InstallDate``."""
        host = self.host(host)
        icm = self._image_manager(host)
        return iso(self._call(host, "read the install date", icm.InstallDate))

    @staticmethod
    def package_record(pkg):
        """pyVmomi ``SoftwarePackage`` -> plain dict with the API field names."""
        def rel(items):
            return [{"constraint": getattr(r, "constraint", None), "name": getattr(r, "name", None),
                     "version": getattr(r, "version", None)} for r in items or ()]
        cap = getattr(pkg, "capability", None)
        return {
            "name": pkg.name, "version": pkg.version, "type": pkg.type, "vendor": pkg.vendor,
            "acceptanceLevel": pkg.acceptanceLevel, "summary": pkg.summary, "description": pkg.description,
            "referenceURL": list(pkg.referenceURL or ()), "creationDate": pkg.creationDate,
            "depends": rel(pkg.depends), "conflicts": rel(pkg.conflicts), "replaces": rel(pkg.replaces),
            "provides": list(pkg.provides or ()), "maintenanceModeRequired": pkg.maintenanceModeRequired,
            "hardwarePlatformsRequired": list(pkg.hardwarePlatformsRequired or ()),
            "capability": {k: getattr(cap, k, None) for k in
                           ("liveInstallAllowed", "liveRemoveAllowed", "statelessReady", "overlay")} if cap else {},
            "tag": list(pkg.tag or ()), "payload": list(pkg.payload or ()),
        }

    def _fetch_packages(self, host):
        host = self.host(host)
        icm = self._image_manager(host)
        pkgs = self._call(host, "list the installed software packages", icm.FetchSoftwarePackages)
        return [self.package_record(p) for p in pkgs or ()]

    def software_packages(self, host):
        """Installed VIBs (``FetchSoftwarePackages``) as ``Vib.to_dict()``-shaped dicts, sorted by name."""
        out = [package_record_dict(r) for r in self._fetch_packages(host)]
        return sorted(out, key=lambda d: (d["name"], d["version"]))

    def software_vibs(self, host):
        """Installed VIBs as ``_models.Vib`` objects (for the controller-side scan)."""
        return sorted((package_record_to_vib(r) for r in self._fetch_packages(host)), key=lambda v: v.name)

    # ---- esxcli ----------------------------------------------------------------------------------------
    @property
    def esxcli(self):
        """The ``_esxcli.Esxcli`` bound to this client (``client.esxcli.vib_list(host)``)."""
        if self._esxcli is None:
            from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.esxcli import Esxcli
            self._esxcli = Esxcli(self)
        return self._esxcli
