package main

// vim.host.PatchManager (WSDL HostPatchManager), one per host.
// OBSERVED: method set, parameters, Result/Status fields and reason enum (pyvmomi 9.1.1.0 typeinfo);
// moref "ha-host-patch-manager" on ESXi, unique per host through vCenter ("patchManager-14" in a
// vCenter 8.0.3 cassette); InvalidArgument for an empty meta URL and a *successful* task with a
// non-empty xmlResult for a non-existent depot (VMware's hostd test case_1_PatchManager.py);
// cmdOption "--maintenancemode" / "--nosigcheck" (same test).
// ASSUMED: the xmlResult vocabulary (<esxupdate-response><version>1.50</version>..., element names
// taken from strings in ESXi 6.7's esxupdate modules, see SOURCES.md) and Result.version "1.50".

import (
	"fmt"
	"html"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const xmlResultVersion = "1.50" // ASSUMED (IFace constant in esxupdate 6.7 strings)

type PatchManager struct {
	mo.HostPatchManager
	host *Host
}

func esc(s string) string { return html.EscapeString(s) }

func xmlResultDoc(body string) string {
	return "<esxupdate-response><version>" + xmlResultVersion + "</version>" + body + "</esxupdate-response>"
}

func errorElement(class, msg string) string {
	return fmt.Sprintf("<error errorClass=\"%s\"><errorCode>%d</errorCode><errorDesc>%s</errorDesc></error>", class, errorCode(class), esc(msg))
}

// ASSUMED numeric codes (esxupdate exits with per-class codes; the real numbers were not found
// except "exit status: 7" for a bad path on 8.0U3, w2c/letsencrypt-esxi#46).
func errorCode(class string) int {
	switch class {
	case "MetadataDownloadError", "VibDownloadError":
		return 7
	case "MaintenanceModeError":
		return 10
	case "DependencyError":
		return 3
	case "AcceptanceConfigError":
		return 15
	case "NoMatchError":
		return 11
	}
	return 1
}

func hasOpt(spec *types.HostPatchManagerPatchManagerOperationSpec, opt string) bool {
	if spec == nil {
		return false
	}
	for _, f := range strings.Fields(spec.CmdOption) {
		if f == opt || strings.TrimLeft(f, "-") == strings.TrimLeft(opt, "-") {
			return true
		}
	}
	return false
}

func checkURLs(lists ...[]string) types.BaseMethodFault {
	for _, l := range lists {
		for _, u := range l {
			if strings.TrimSpace(u) == "" {
				return &types.InvalidArgument{InvalidProperty: "metaUrls"} // OBSERVED (hostd test)
			}
		}
	}
	return nil
}

func vibScanData(v *Vib, state string, extra string) string {
	return fmt.Sprintf("<vib-scan-data><id>%s</id><name>%s</name><version>%s</version><vendor>%s</vendor><acceptanceLevel>%s</acceptanceLevel><state>%s</state><maintenanceMode>%t</maintenanceMode><postInstall><rebootRequired>%t</rebootRequired><hostdRestart>false</hostdRestart></postInstall>%s</vib-scan-data>",
		esc(v.ID), esc(v.Name), esc(v.Version), esc(v.Vendor), v.Acceptance, state, v.MaintenanceModeRequired, !v.LiveInstallAllowed, extra)
}

func hostScanData(h *Host) string {
	staged := ""
	for _, v := range h.Staged {
		staged += "<vibID>" + esc(v.ID) + "</vibID>"
	}
	return fmt.Sprintf("<host-scan-data><imagePending>%t</imagePending><vibStaged>%s</vibStaged></host-scan-data>", h.Pending != nil, staged)
}

// installedReport lists the host's VIBs (Query, or ScanV2 without URLs).
// OBSERVED use: rbvmomi inventory scripts call ScanHostPatchV2_Task without URLs and read installed
// VIB ids with XPath //vib-scan-data//id.
func (h *Host) installedReport() *types.HostPatchManagerResult {
	var b strings.Builder
	for _, v := range h.Current.Vibs {
		b.WriteString(vibScanData(v, "installed", ""))
	}
	if h.Pending != nil {
		for _, v := range h.Pending.Vibs {
			if h.Current.byID(v.ID) == nil {
				b.WriteString(vibScanData(v, "pending", ""))
			}
		}
	}
	b.WriteString(hostScanData(h))
	return &types.HostPatchManagerResult{Version: xmlResultVersion, XmlResult: xmlResultDoc(b.String())}
}

func (h *Host) scan(metaUrls, bundleUrls []string) (*types.HostPatchManagerResult, types.BaseMethodFault) {
	if f := checkURLs(metaUrls, bundleUrls); f != nil {
		return nil, f
	}
	urls := append(append([]string{}, metaUrls...), bundleUrls...)
	if len(urls) == 0 {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.installedReport(), nil
	}
	d, errs := h.fetcher().LoadDepots(urls)
	h.mu.Lock()
	defer h.mu.Unlock()
	res := &types.HostPatchManagerResult{Version: xmlResultVersion}
	var b strings.Builder
	for _, e := range errs {
		// OBSERVED: a bad depot gives a successful task with an error in xmlResult (hostd test)
		b.WriteString(errorElement(e.Class, e.Msg))
	}
	b.WriteString("<metadata-scan-data>")
	for _, u := range d.URLs {
		b.WriteString("<metadata><url>" + esc(u) + "</url></metadata>")
	}
	b.WriteString("</metadata-scan-data>")
	for _, st := range Scan(h.Current, h.Pending, h.Booted, d) {
		res.Status = append(res.Status, types.HostPatchManagerStatus{
			Id: st.B.ID, Applicable: st.Applicable, Installed: st.Installed, Reason: st.Reasons,
			InstallState: st.InstallState, RestartRequired: st.RestartRequired, VmOffRequired: st.VmOffRequired,
			SupersededPatchIds: st.Superseded,
		})
		for _, v := range st.Vibs {
			state := "notInstalled"
			if h.Current.byID(v.ID) != nil {
				state = "installed"
			} else if h.Pending != nil && h.Pending.byID(v.ID) != nil {
				state = "pending"
			}
			extra := fmt.Sprintf("<bulletinId>%s</bulletinId><meetsSystemReq>%t</meetsSystemReq>", esc(st.B.ID), st.PlatformOK)
			if !st.PlatformOK {
				extra += "<systemReqFailure>" + esc(strings.Join(st.Notes, "; ")) + "</systemReqFailure>"
			}
			for _, r := range st.Reasons {
				extra += "<reason>" + r + "</reason>"
			}
			for _, n := range st.Notes {
				extra += "<note>" + esc(n) + "</note>"
			}
			b.WriteString(vibScanData(v, state, extra))
		}
	}
	b.WriteString(hostScanData(h))
	res.XmlResult = xmlResultDoc(b.String())
	h.lastDepot = d
	return res, nil
}

// installCandidates downloads metadata (and .vib files for vibUrls) and returns the candidate VIBs.
func (h *Host) installCandidates(f *Fetcher, urls, vibUrls []string, bulletins []string) (*Depot, []*Vib, *EngineError) {
	var d *Depot
	var cands []*Vib
	if len(urls) > 0 {
		var errs []*DepotError
		d, errs = f.LoadDepots(urls)
		if len(errs) > 0 {
			return nil, nil, &EngineError{Class: errs[0].Class, Msg: errs[0].Msg}
		}
		h.mu.Lock()
		cands = ApplicableVibs(d, h.base(), bulletins)
		h.mu.Unlock()
	} else {
		d = newDepot()
	}
	for _, u := range vibUrls {
		v, err := f.FetchVibURL(u)
		if err != nil {
			return nil, nil, &EngineError{Class: err.Class, Msg: err.Msg}
		}
		d.Vibs[v.ID] = v
		cands = append(cands, v)
	}
	return d, cands, nil
}

func platformFault(e *EngineError) types.BaseMethodFault {
	// ASSUMED: esxupdate errors surface as PlatformConfigFault with text "<Class>: <message>"
	return &types.PlatformConfigFault{Text: e.Class + ": " + strings.ReplaceAll(e.Msg, "\n ", " ")}
}

func (h *Host) install(metaUrls, bundleUrls, vibUrls []string, spec *types.HostPatchManagerPatchManagerOperationSpec, stage bool) (*types.HostPatchManagerResult, types.BaseMethodFault) {
	if f := checkURLs(metaUrls, bundleUrls, vibUrls); f != nil {
		return nil, f
	}
	urls := append(append([]string{}, metaUrls...), bundleUrls...)
	res := &types.HostPatchManagerResult{Version: xmlResultVersion}
	if len(urls) == 0 && len(vibUrls) == 0 {
		h.mu.Lock()
		nothing := stage || len(h.Staged) == 0
		h.mu.Unlock()
		if nothing {
			return nil, &types.InvalidArgument{InvalidProperty: "metaUrls"}
		}
	}
	fetch := h.fetcher()
	var d *Depot
	var cands []*Vib
	fromStage := len(urls) == 0 && len(vibUrls) == 0
	if fromStage {
		h.mu.Lock()
		cands = append(cands, h.Staged...) // install what was staged before (already downloaded)
		d = h.stagedDepot
		h.mu.Unlock()
		if d == nil {
			d = newDepot()
		}
	} else {
		var err *EngineError
		d, cands, err = h.installCandidates(fetch, urls, vibUrls, nil)
		if err != nil {
			return nil, platformFault(err)
		}
	}
	inMM := h.inMaintenance()
	h.mu.Lock()
	// ASSUMED: PatchManager installs every applicable bulletin: new VIBs and upgrades, never downgrades
	// staging does not touch the image, so it does not need maintenance mode (ASSUMED)
	opts := InstallOpts{Mode: "patch", MaintenanceOK: inMM || stage || hasOpt(spec, "--maintenancemode"), StrictMM: true,
		NoSigCheck: hasOpt(spec, "--nosigcheck"), Force: hasOpt(spec, "--force"), NoLiveInstall: hasOpt(spec, "--noliveinstall")}
	if len(vibUrls) > 0 {
		opts.Mode = "install"
	}
	plan, perr := PlanInstall(h.base(), h.Acceptance, cands, opts)
	h.mu.Unlock()
	if perr != nil {
		return nil, platformFault(perr)
	}
	if !plan.Changed() {
		// ASSUMED wording; the Ansible PR ansible/ansible#55687 looks for "Host was not updated" in xmlResult
		res.XmlResult = xmlResultDoc("<message>Host was not updated, no changes required.</message>" + opXML(plan, false))
		return res, nil
	}
	// download the VIB payloads (real HTTP, checksum verified); staged VIBs are already on the host
	for _, v := range plan.Installed {
		if fromStage {
			break
		}
		if err := fetch.FetchVib(d, v.ID); err != nil {
			return nil, platformFault(&EngineError{Class: err.Class, Msg: err.Msg})
		}
	}
	if f := h.fault("disconnect_during_install"); f != nil && !stage {
		// the host drops off in the middle of the install; the image is left unchanged (ASSUMED: the
		// transaction did not reach the bootbank)
		h.takeFault("disconnect_during_install")
		go h.outage(time.Duration(f.num("seconds", cfg.RebootDown.Seconds())*float64(time.Second)), false)
		time.Sleep(50 * time.Millisecond)
		return nil, &types.HostNotConnected{}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if stage {
		// OBSERVED (API docs): Stage downloads and stages the patches; ASSUMED: nothing else changes
		h.Staged = plan.Installed
		h.stagedDepot = d
		res.XmlResult = xmlResultDoc("<message>Staging completed successfully.</message>" + opXML(plan, true) + hostScanData(h))
		return res, nil
	}
	h.applyPlan(plan, d)
	msg := "Operation finished successfully."
	if plan.NeedReboot {
		msg = "The update completed successfully, but the system needs to be rebooted for the changes to be effective."
	}
	res.XmlResult = xmlResultDoc("<message>" + msg + "</message>" + opXML(plan, false) + hostScanData(h))
	return res, nil
}

func opXML(p *Plan, staged bool) string {
	var b strings.Builder
	b.WriteString("<installOperation><allowed>true</allowed><addedVibs>")
	for _, id := range ids(p.Installed) {
		b.WriteString("<vibId>" + esc(id) + "</vibId>")
	}
	b.WriteString("</addedVibs><removedVibs>")
	for _, id := range ids(p.Removed) {
		b.WriteString("<vibId>" + esc(id) + "</vibId>")
	}
	b.WriteString("</removedVibs><skippedVibs>")
	for _, id := range ids(p.Skipped) {
		b.WriteString("<vibId>" + esc(id) + "</vibId>")
	}
	fmt.Fprintf(&b, "</skippedVibs><maintenanceMode>%t</maintenanceMode><rebootRequired>%t</rebootRequired><staged>%t</staged></installOperation>", p.NeedMM, p.NeedReboot, staged)
	return b.String()
}

// applyPlan installs a plan: live installs change the running image, others leave a pending image
// that becomes active at the next reboot. Caller holds h.mu.
func (h *Host) applyPlan(p *Plan, d *Depot) {
	now := time.Now().UTC()
	for _, v := range p.Installed {
		v.InstallDate = now.Format("2006-01-02")
	}
	result := p.Result
	imageVersionFromBase(result)
	h.InstallDate = now
	h.Staged = nil
	if p.Live && h.Pending == nil {
		h.Current = result
		h.Booted = false
	} else {
		h.Pending = result
		h.Booted = false
	}
	if d != nil {
		for _, b := range d.Bulletins {
			for _, id := range b.VibIDs {
				for _, v := range p.Installed {
					if v.ID == id {
						if h.Bulletins == nil {
							h.Bulletins = map[string][]string{}
						}
						h.Bulletins[b.ID] = append(h.Bulletins[b.ID], id)
					}
				}
			}
		}
	}
	if h.Current == result {
		h.setProduct(result) // live install that changed esx-base (rare) shows immediately
	}
}

func (h *Host) uninstall(bulletinIds []string, spec *types.HostPatchManagerPatchManagerOperationSpec) (*types.HostPatchManagerResult, types.BaseMethodFault) {
	if len(bulletinIds) == 0 {
		return nil, &types.InvalidArgument{InvalidProperty: "bulletinIds"}
	}
	inMM := h.inMaintenance()
	h.mu.Lock()
	defer h.mu.Unlock()
	var names []string
	for _, b := range bulletinIds {
		if vibs, ok := h.Bulletins[b]; ok {
			names = append(names, vibs...)
			continue
		}
		names = append(names, b) // ASSUMED: a VIB name/id is accepted as well
	}
	sort.Strings(names)
	plan, err := PlanRemove(h.base(), names, InstallOpts{MaintenanceOK: inMM || hasOpt(spec, "--maintenancemode"), StrictMM: true, Force: hasOpt(spec, "--force")})
	if err != nil {
		return nil, platformFault(err)
	}
	h.applyPlan(plan, nil)
	for _, b := range bulletinIds {
		delete(h.Bulletins, b)
	}
	return &types.HostPatchManagerResult{Version: xmlResultVersion, XmlResult: xmlResultDoc("<message>Operation finished successfully.</message>" + opXML(plan, false) + hostScanData(h))}, nil
}

// ---- SOAP methods

func (pm *PatchManager) ScanHostPatchV2Task(req *types.ScanHostPatchV2_Task) soap.HasFault {
	ref := runHostTask(pm, pm.host, "ScanV2", "ScanHostPatchV2_Task", "host.PatchManager.ScanV2", true, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return pm.host.scan(req.MetaUrls, req.BundleUrls)
	})
	return &methods.ScanHostPatchV2_TaskBody{Res: &types.ScanHostPatchV2_TaskResponse{Returnval: ref}}
}

func (pm *PatchManager) CheckHostPatchTask(req *types.CheckHostPatch_Task) soap.HasFault {
	ref := runHostTask(pm, pm.host, "Check", "CheckHostPatch_Task", "host.PatchManager.Check", true, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return pm.host.scan(req.MetaUrls, req.BundleUrls)
	})
	return &methods.CheckHostPatch_TaskBody{Res: &types.CheckHostPatch_TaskResponse{Returnval: ref}}
}

func (pm *PatchManager) QueryHostPatchTask(req *types.QueryHostPatch_Task) soap.HasFault {
	ref := runHostTask(pm, pm.host, "Query", "QueryHostPatch_Task", "host.PatchManager.Query", true, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		pm.host.mu.Lock()
		defer pm.host.mu.Unlock()
		return pm.host.installedReport(), nil
	})
	return &methods.QueryHostPatch_TaskBody{Res: &types.QueryHostPatch_TaskResponse{Returnval: ref}}
}

func (pm *PatchManager) StageHostPatchTask(req *types.StageHostPatch_Task) soap.HasFault {
	ref := runHostTask(pm, pm.host, "Stage", "StageHostPatch_Task", "host.PatchManager.Stage", true, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return pm.host.install(req.MetaUrls, req.BundleUrls, req.VibUrls, req.Spec, true)
	})
	return &methods.StageHostPatch_TaskBody{Res: &types.StageHostPatch_TaskResponse{Returnval: ref}}
}

func (pm *PatchManager) InstallHostPatchV2Task(req *types.InstallHostPatchV2_Task) soap.HasFault {
	ref := runHostTask(pm, pm.host, "InstallV2", "InstallHostPatchV2_Task", "host.PatchManager.InstallV2", true, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return pm.host.install(req.MetaUrls, req.BundleUrls, req.VibUrls, req.Spec, false)
	})
	return &methods.InstallHostPatchV2_TaskBody{Res: &types.InstallHostPatchV2_TaskResponse{Returnval: ref}}
}

func (pm *PatchManager) UninstallHostPatchTask(req *types.UninstallHostPatch_Task) soap.HasFault {
	ref := runHostTask(pm, pm.host, "Uninstall", "UninstallHostPatch_Task", "host.PatchManager.Uninstall", true, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return pm.host.uninstall(req.BulletinIds, req.Spec)
	})
	return &methods.UninstallHostPatch_TaskBody{Res: &types.UninstallHostPatch_TaskResponse{Returnval: ref}}
}
