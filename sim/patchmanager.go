package main

// vim.host.PatchManager (WSDL HostPatchManager), one per host.
// OBSERVED: method set, parameters, Result/Status fields and reason enum (pyvmomi 9.1.1.0 typeinfo);
// moref "ha-host-patch-manager" on ESXi, unique per host through vCenter ("patchManager-14" in a
// vCenter 8.0.3 cassette); InvalidArgument for an empty meta URL and a *successful* task with a
// non-empty xmlResult for a non-existent depot (VMware's hostd test case_1_PatchManager.py);
// cmdOption "--maintenancemode" / "--nosigcheck" (same test).
// OBSERVED (docs/reference/esxi-software-stack-facts.md, "xmlResult"): xmlResult is what `esxupdate --HA`
// writes; the shapes are the templates in sim/esxupdate/ (see esxupdate.go).
// ASSUMED (hostd's C++ translation was not found): Result.status[] computed by the simulator (engine.go
// Scan); a failed install/stage is a PlatformConfigFault whose text is hostd's
// "/usr/sbin/esxupdate returned with exit status: N" (OBSERVED on ESXi 8.0U3, w2c/letsencrypt-esxi#46) and whose
// faultMessage carries the xmlResult document (the API reference says the details come "within the payload of
// the exception as xml string"; where exactly is ASSUMED).

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const xmlResultVersion = "1.50" // OBSERVED (facts, "xmlResult": <version>1.50</version>)

type PatchManager struct {
	mo.HostPatchManager
	host *Host
}

// esc escapes XML text and attribute values. Only & < > " are escaped (an apostrophe stays literal, as Python's
// xml.sax.saxutils escaping leaves it), so URL-redacting readers do not cut a "&#39;" character reference apart.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;")

func esc(s string) string { return xmlEscaper.Replace(s) }

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

func (h *Host) stagedSet() map[string]bool {
	out := map[string]bool{}
	for _, v := range h.Staged {
		out[v.ID] = true
	}
	return out
}

// hostVibsReport: OBSERVED (facts, "xmlResult"): a scan without metadata lists all installed, pending and staged
// host VIBs, each with its pkgstate. Caller holds h.mu.
func (h *Host) hostVibsReport() string {
	c := &scanCtx{h: h, target: h.base(), staged: h.stagedSet(), platform: platformCheck(h.Current)}
	seen := map[string]bool{}
	var all []*Vib
	add := func(vs []*Vib) {
		for _, v := range vs {
			if !seen[v.ID] {
				seen[v.ID] = true
				all = append(all, v)
			}
		}
	}
	add(h.Current.Vibs)
	if h.Pending != nil {
		add(h.Pending.Vibs)
	}
	add(h.Staged)
	c.depot = all
	var b strings.Builder
	for _, v := range all {
		b.WriteString(c.vibRecord(v))
	}
	b.WriteString(hostScanXML(h))
	return b.String()
}

// queryReport: OBSERVED (facts, "xmlResult"): esxupdate's `query` does nothing in Run(): an empty response.
// ASSUMED: hostd's QueryHostPatch_Task runs `esxupdate query`.
func queryReport() *types.HostPatchManagerResult {
	return &types.HostPatchManagerResult{Version: xmlResultVersion, XmlResult: esxResponse("")}
}

func (h *Host) scan(metaUrls, bundleUrls []string, check bool) (*types.HostPatchManagerResult, types.BaseMethodFault) {
	if f := checkURLs(metaUrls, bundleUrls); f != nil {
		return nil, f
	}
	prefix := ""
	if check {
		prefix = render("scan-cache.xml", nil) // OBSERVED: `check` first writes <cache>
	}
	urls := append(append([]string{}, metaUrls...), bundleUrls...)
	res := &types.HostPatchManagerResult{Version: xmlResultVersion}
	if len(urls) == 0 {
		h.mu.Lock()
		defer h.mu.Unlock()
		res.XmlResult = esxResponse(prefix + h.hostVibsReport())
		return res, nil
	}
	d, errs := h.fetcher().LoadDepots(urls)
	if len(errs) > 0 {
		// OBSERVED: a bad depot gives a successful task with an error in xmlResult (hostd test); the exit state
		// is the only element (facts: the error is written when esxupdate exits)
		e := errs[0]
		res.XmlResult = esxResponse(prefix + exitState(e.Class, e.Msg, e.URL, "", nil))
		return res, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range Scan(h.Current, h.Pending, h.Booted, d) {
		res.Status = append(res.Status, types.HostPatchManagerStatus{
			Id: st.B.ID, Applicable: st.Applicable, Installed: st.Installed, Reason: st.Reasons,
			InstallState: st.InstallState, RestartRequired: st.RestartRequired, VmOffRequired: st.VmOffRequired,
			SupersededPatchIds: st.Superseded,
		})
	}
	var vibs []*Vib
	for _, v := range d.Vibs {
		vibs = append(vibs, v)
	}
	sort.Slice(vibs, func(i, j int) bool { return vibs[i].ID < vibs[j].ID })
	c := &scanCtx{h: h, target: h.base(), depot: vibs, staged: h.stagedSet(), platform: platformCheck(h.Current)}
	var b strings.Builder
	b.WriteString(prefix)
	for _, v := range vibs {
		b.WriteString(c.vibRecord(v))
	}
	b.WriteString(hostScanXML(h))
	b.WriteString(h.metadataScanXML(d, vibs))
	res.XmlResult = esxResponse(b.String())
	h.lastDepot = d
	return res, nil
}

// metadataScanXML: OBSERVED vocabulary (facts, "xmlResult"); ASSUMED: the install operation is what an install
// of every applicable bulletin would do, the uninstall operation removes the depot VIBs that are installed; the
// VIBs of each metadata URL are the VIBs that URL's load added. Caller holds h.mu.
func (h *Host) metadataScanXML(d *Depot, vibs []*Vib) string {
	var meta []string
	for _, u := range d.URLs {
		var idsU []string
		for _, id := range d.URLVibs[u] {
			idsU = append(idsU, esc(id))
		}
		sort.Strings(idsU)
		meta = append(meta, render("scan-metadata-url.xml", map[string]interface{}{"URL": esc(u), "IDs": idsU}))
	}
	opts := InstallOpts{Mode: "patch", MaintenanceOK: true, StrictMM: true}
	plan, perr := PlanInstall(h.base(), h.Acceptance, ApplicableVibs(d, h.base(), nil), opts)
	var installed []string
	for _, v := range vibs {
		if h.base().byID(v.ID) != nil {
			installed = append(installed, v.ID)
		}
	}
	var unPlan *Plan
	var unErr *EngineError
	if len(installed) > 0 {
		unPlan, unErr = PlanRemove(h.base(), installed, opts)
	} else {
		unPlan = &Plan{}
	}
	mm, reboot := false, false
	if perr == nil {
		mm, reboot = plan.NeedMM, plan.NeedReboot
	}
	return render("scan-metadata.xml", map[string]interface{}{"Metadata": meta,
		"Install": operationXML("installOperation", plan, perr), "Uninstall": operationXML("uninstallOperation", unPlan, unErr),
		"MaintenanceMode": pyBool(mm), "RebootRequired": pyBool(reboot)})
}

// installCandidates downloads metadata (and .vib files for vibUrls) and returns the candidate VIBs.
func (h *Host) installCandidates(f *Fetcher, urls, vibUrls []string, bulletins []string) (*Depot, []*Vib, *DepotError) {
	var d *Depot
	var cands []*Vib
	if len(urls) > 0 {
		var errs []*DepotError
		d, errs = f.LoadDepots(urls)
		if len(errs) > 0 {
			return nil, nil, errs[0]
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
			return nil, nil, err
		}
		d.Vibs[v.ID] = v
		cands = append(cands, v)
	}
	return d, cands, nil
}

// esxupdateFault: a failed esxupdate run. OBSERVED text (ESXi 8.0U3 task: "An error occurred during host
// configuration: /usr/sbin/esxupdate returned with exit status: 7."); ASSUMED: the xmlResult document in
// faultMessage[0] (key "com.vmware.esx.esxupdate.xmlResult").
func esxupdateFault(class, msg, url string) types.BaseMethodFault {
	return &types.PlatformConfigFault{
		HostConfigFault: types.HostConfigFault{VimFault: types.VimFault{MethodFault: types.MethodFault{
			FaultMessage: []types.LocalizableMessage{{Key: "com.vmware.esx.esxupdate.xmlResult", Message: engineExitDoc(class, msg, url)}}}}},
		Text: fmt.Sprintf("/usr/sbin/esxupdate returned with exit status: %d", errnoOf(class)),
	}
}

func platformFault(e *EngineError) types.BaseMethodFault { return esxupdateFault(e.Class, e.Msg, "") }

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
		var derr *DepotError
		d, cands, derr = h.installCandidates(fetch, urls, vibUrls, nil)
		if derr != nil {
			return nil, esxupdateFault(derr.Class, derr.Msg, derr.URL)
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
	pendingBefore := h.Pending != nil
	h.mu.Unlock()
	if perr != nil {
		return nil, platformFault(perr)
	}
	if !plan.Changed() {
		// OBSERVED (facts, "Results"): nothing changed -> HostNotChanged ("Host is not changed."), or
		// NeedsRebootResult when a reboot is pending from a previous transaction
		if pendingBefore && !stage {
			res.XmlResult = esxResponse(exitMsgs("NeedsRebootResult", "Host is not changed. Reboot is pending from previous transaction."))
		} else {
			res.XmlResult = esxResponse(exitMsgs("HostNotChanged", "Host is not changed."))
		}
		return res, nil
	}
	// download the VIB payloads (real HTTP, checksum verified); staged VIBs are already on the host
	for _, v := range plan.Installed {
		if fromStage {
			break
		}
		if err := fetch.FetchVib(d, v.ID); err != nil {
			return nil, esxupdateFault(err.Class, err.Msg, err.URL)
		}
	}
	if f := h.fault("esxupdate_error"); f != nil && (f.str("method", "InstallV2") == "StageV2") == stage {
		// fault switch: the next install (or stage with method=StageV2) fails the way esxupdate fails, with a
		// real-shaped exit state; class (default InstallationError) and lines ("\n"-separated) from the params
		h.takeFault("esxupdate_error")
		class := f.str("class", "InstallationError")
		return nil, esxupdateFault(class, f.str("lines", "Simulated "+class+" (esxupdate_error fault switch)"), "")
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
		// OBSERVED (API docs): Stage downloads and stages the patches; OBSERVED (facts): stage writes only the
		// exit state. ASSUMED: a stage that did its work is a plain success (nothing written)
		h.Staged = plan.Installed
		h.stagedDepot = d
		res.XmlResult = esxResponse("")
		return res, nil
	}
	live := plan.Live && h.Pending == nil
	h.applyPlan(plan, d)
	res.XmlResult = esxResponse(exitFor(live))
	return res, nil
}

// exitFor: OBSERVED (facts, "Results"): boot only -> NeedsRebootResult; live and boot -> NormalExit (nothing
// written). The simulator's hosts always have a boot bank, so LiveInstallOnlyResult (83) is never returned.
func exitFor(live bool) string {
	if live {
		return ""
	}
	return exitMsgs("NeedsRebootResult")
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
	live := plan.Live && h.Pending == nil
	h.applyPlan(plan, nil)
	for _, b := range bulletinIds {
		delete(h.Bulletins, b)
	}
	return &types.HostPatchManagerResult{Version: xmlResultVersion, XmlResult: esxResponse(exitFor(live))}, nil
}

// ---- SOAP methods

func (pm *PatchManager) ScanHostPatchV2Task(req *types.ScanHostPatchV2_Task) soap.HasFault {
	ref := runHostTask(pm, pm.host, "ScanV2", "ScanHostPatchV2_Task", "host.PatchManager.ScanV2", true, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return pm.host.scan(req.MetaUrls, req.BundleUrls, false)
	})
	return &methods.ScanHostPatchV2_TaskBody{Res: &types.ScanHostPatchV2_TaskResponse{Returnval: ref}}
}

func (pm *PatchManager) CheckHostPatchTask(req *types.CheckHostPatch_Task) soap.HasFault {
	ref := runHostTask(pm, pm.host, "Check", "CheckHostPatch_Task", "host.PatchManager.Check", true, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return pm.host.scan(req.MetaUrls, req.BundleUrls, true)
	})
	return &methods.CheckHostPatch_TaskBody{Res: &types.CheckHostPatch_TaskResponse{Returnval: ref}}
}

func (pm *PatchManager) QueryHostPatchTask(req *types.QueryHostPatch_Task) soap.HasFault {
	ref := runHostTask(pm, pm.host, "Query", "QueryHostPatch_Task", "host.PatchManager.Query", true, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return queryReport(), nil
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
