package main

// vim.host.ImageConfigManager (WSDL HostImageConfigManager), one per host.
// OBSERVED: methods HostImageConfigGetAcceptance, UpdateHostImageAcceptanceLevel,
// HostImageConfigGetProfile, fetchSoftwarePackages, installDate and the SoftwarePackage/Relation
// types (pyvmomi 9.1.1.0 typeinfo); an invalid level gives HostConfigFault (VMware's hostd test);
// morefs "ha-image-config-manager" on ESXi, "imageConfigManager-<n>" through vCenter (cassette).

import (
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type ImageConfigManager struct {
	mo.HostImageConfigManager
	host *Host
}

func notConnected() *soap.Fault {
	return simulator.Fault("host is not connected", &types.HostNotConnected{})
}

func (m *ImageConfigManager) HostImageConfigGetAcceptance(*types.HostImageConfigGetAcceptance) soap.HasFault {
	if !m.host.connected() {
		return &methods.HostImageConfigGetAcceptanceBody{Fault_: notConnected()}
	}
	m.host.mu.Lock()
	defer m.host.mu.Unlock()
	return &methods.HostImageConfigGetAcceptanceBody{Res: &types.HostImageConfigGetAcceptanceResponse{Returnval: acceptanceAPIName(m.host.Acceptance)}}
}

// setAcceptance: OBSERVED (esxcli behaviour, public docs): the host level cannot be raised above the
// level of an installed VIB ("[AcceptanceConfigError] Unable to set acceptance level of X due to
// installed VIBs Y having a lower acceptance level."). Caller holds h.mu.
func (h *Host) setAcceptance(level string) *EngineError {
	var low []string
	for _, v := range h.base().Vibs {
		if !acceptanceAllowed(level, v.Acceptance) {
			low = append(low, v.ID)
		}
	}
	if len(low) > 0 {
		return engErr("AcceptanceConfigError", "Unable to set acceptance level of %s due to installed VIBs %s having a lower acceptance level.\n Please refer to the log file for more details.", level, strings.Join(low, ", "))
	}
	h.Acceptance = level
	return nil
}

func (m *ImageConfigManager) UpdateHostImageAcceptanceLevel(req *types.UpdateHostImageAcceptanceLevel) soap.HasFault {
	body := &methods.UpdateHostImageAcceptanceLevelBody{}
	if !m.host.connected() {
		body.Fault_ = notConnected()
		return body
	}
	lvl := ""
	switch req.NewAcceptanceLevel { // OBSERVED enum: vmware_certified|vmware_accepted|partner|community
	case "vmware_certified", "vmware_accepted", "partner", "community":
		lvl = normAcceptance(req.NewAcceptanceLevel)
	}
	if lvl == "" {
		body.Fault_ = simulator.Fault("Invalid acceptance level "+req.NewAcceptanceLevel, &types.HostConfigFault{})
		return body
	}
	m.host.mu.Lock()
	defer m.host.mu.Unlock()
	if err := m.host.setAcceptance(lvl); err != nil {
		// OBSERVED (facts / issue 10): ImageConfigManager's acceptance faults are HostConfigFault; the message is
		// esximage's "Unable to set acceptance level of %s due to installed VIBs %s having a lower acceptance level."
		body.Fault_ = simulator.Fault(strings.Join(bodyLines(err.Msg), " "), &types.HostConfigFault{})
		return body
	}
	body.Res = &types.UpdateHostImageAcceptanceLevelResponse{}
	return body
}

func (m *ImageConfigManager) HostImageConfigGetProfile(*types.HostImageConfigGetProfile) soap.HasFault {
	if !m.host.connected() {
		return &methods.HostImageConfigGetProfileBody{Fault_: notConnected()}
	}
	m.host.mu.Lock()
	defer m.host.mu.Unlock()
	img := m.host.Current
	return &methods.HostImageConfigGetProfileBody{Res: &types.HostImageConfigGetProfileResponse{
		Returnval: types.HostImageProfileSummary{Name: img.ProfileName(), Vendor: img.Profile.Vendor}}}
}

func parseDate(s string) *time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	t := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	return &t
}

func relations(cs []Constraint) []types.Relation {
	var out []types.Relation
	for _, c := range cs {
		out = append(out, types.Relation{Constraint: relationToConstraint(c.Relation), Name: c.Name, Version: c.Version})
	}
	return out
}

func softwarePackage(v *Vib) types.SoftwarePackage {
	mm, live, liveRm, sr, ov := v.MaintenanceModeRequired, v.LiveInstallAllowed, v.LiveRemoveAllowed, v.StatelessReady, v.Overlay
	var provides []string
	for _, p := range v.Provides {
		if p.Version != "" {
			provides = append(provides, p.Name+" = "+p.Version) // ASSUMED string form
		} else {
			provides = append(provides, p.Name)
		}
	}
	t := v.Type
	if t != "bootbank" && t != "tools" && t != "meta" {
		// OBSERVED enum bootbank|tools|meta; the 6.7 tools-light VIB has type "locker" (ASSUMED -> tools)
		if t == "locker" {
			t = "tools"
		} else {
			t = "bootbank"
		}
	}
	return types.SoftwarePackage{
		Name: v.Name, Version: v.Version, Type: t, Vendor: v.Vendor,
		AcceptanceLevel: acceptanceAPIName(v.Acceptance), Summary: v.Summary, Description: v.Description,
		CreationDate: parseDate(v.ReleaseDate),
		Depends:      relations(v.Depends), Conflicts: relations(v.Conflicts), Replaces: relations(v.Replaces),
		Provides: provides, MaintenanceModeRequired: &mm, HardwarePlatformsRequired: v.HwPlatforms,
		Capability: types.SoftwarePackageCapability{LiveInstallAllowed: &live, LiveRemoveAllowed: &liveRm, StatelessReady: &sr, Overlay: &ov},
		Tag:        v.Tags, Payload: v.Payloads,
	}
}

func (m *ImageConfigManager) FetchSoftwarePackages(*types.FetchSoftwarePackages) soap.HasFault {
	if !m.host.connected() {
		return &methods.FetchSoftwarePackagesBody{Fault_: notConnected()}
	}
	m.host.mu.Lock()
	defer m.host.mu.Unlock()
	var pkgs []types.SoftwarePackage
	for _, v := range m.host.Current.Vibs {
		pkgs = append(pkgs, softwarePackage(v))
	}
	return &methods.FetchSoftwarePackagesBody{Res: &types.FetchSoftwarePackagesResponse{Returnval: pkgs}}
}

func (m *ImageConfigManager) InstallDate(*types.InstallDate) soap.HasFault {
	if !m.host.connected() {
		return &methods.InstallDateBody{Fault_: notConnected()}
	}
	m.host.mu.Lock()
	defer m.host.mu.Unlock()
	return &methods.InstallDateBody{Res: &types.InstallDateResponse{Returnval: m.host.InstallDate}}
}
