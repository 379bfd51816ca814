package main

// vLCM drafts, check, apply and depots (see vlcm.go for the surface, vlcm_model.go for the model).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

const draftPath = clusterPath + "/software/drafts/{id}"

func withDraft(fn func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte)) func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
	return withCluster(func(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
		d := c.Drafts[m[2]]
		if d == nil {
			notFound(w, "Draft "+m[2])
			return
		}
		fn(w, c, d, b)
	})
}

func draftMeta(d *vlcmDraft) map[string]interface{} {
	return map[string]interface{}{"owner": d.Owner, "status": "VALID", "creation_time": d.Created.Format("2006-01-02T15:04:05.000Z")}
}

// policies: OBSERVED (esx-8.0.2.json): GET/PUT /api/esx/settings/clusters/{cluster}/policies/apply with
// EsxSettingsClustersPoliciesApplyConfiguredPolicySpec; a PUT replaces the whole configured policy.
func registerPolicyRoutes() {
	route("GET", "", clusterPath+"/policies/apply", withCluster(func(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
		writeValue(w, 200, c.Policy)
	}))
	route("PUT", "", clusterPath+"/policies/apply", withCluster(func(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
		var p map[string]interface{}
		if json.Unmarshal(b, &p) != nil {
			vErr(w, 400, "INVALID_ARGUMENT", "vapi.bindings.typeconverter.invalid", "Invalid remediation policy.")
			return
		}
		c.Policy = p
		writeValue(w, 204, nil)
	}))
}

func registerDraftRoutes() {
	registerPolicyRoutes()
	// OBSERVED (esx-8.0.2.json, drafts create): 201 with the draft id; 400 ALREADY_EXISTS "If there is already a
	// draft created by this user".
	route("POST", "", clusterPath+"/software/drafts", withCluster(func(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
		for _, d := range c.Drafts {
			if d.Owner == u {
				vErr(w, 400, "ALREADY_EXISTS", "com.vmware.vcIntegrity.lifecycle.draft.AlreadyExists",
					fmt.Sprintf("Draft %s of user %s already exists for cluster %s.", d.ID, u, c.Name))
				return
			}
		}
		d := &vlcmDraft{ID: fmt.Sprint(vlcm.next()), Owner: u, Created: time.Now().UTC(), Image: c.Desired.clone()}
		c.Drafts[d.ID] = d
		writeValue(w, 201, d.ID)
	}))
	route("GET", "", clusterPath+"/software/drafts", withCluster(func(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
		out := map[string]interface{}{}
		for id, d := range c.Drafts {
			out[id] = map[string]interface{}{"metadata": draftMeta(d)}
		}
		writeValue(w, 200, out)
	}))
	route("GET", "", draftPath, withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		writeValue(w, 200, map[string]interface{}{"metadata": draftMeta(d), "software": vlcm.softwareInfo(d.Image)})
	}))
	route("DELETE", "", draftPath, withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		delete(c.Drafts, d.ID)
		writeValue(w, 204, nil)
	}))
	route("PUT", "", draftPath+"/software/base-image", withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		var spec struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(b, &spec) != nil || spec.Version == "" {
			vErr(w, 400, "INVALID_ARGUMENT", "vapi.bindings.typeconverter.invalid", "The base image version is missing.")
			return
		}
		d.Image.BaseImage = spec.Version
		writeValue(w, 204, nil)
	}))
	route("PUT", "", draftPath+"/software/add-on", withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		var a vlcmAddOn
		if json.Unmarshal(b, &a) != nil || a.Name == "" || a.Version == "" {
			vErr(w, 400, "INVALID_ARGUMENT", "vapi.bindings.typeconverter.invalid", "The add-on needs a name and a version.")
			return
		}
		d.Image.AddOn = &a
		writeValue(w, 204, nil)
	}))
	route("DELETE", "", draftPath+"/software/add-on", withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		d.Image.AddOn = nil
		writeValue(w, 204, nil)
	}))
	route("PUT", "", draftPath+"/software/hardware-support", withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		var hs struct {
			Packages map[string]interface{} `json:"packages"`
		}
		_ = json.Unmarshal(b, &hs)
		d.Image.HSP = hs.Packages
		writeValue(w, 204, nil)
	}))
	route("DELETE", "", draftPath+"/software/hardware-support", withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		d.Image.HSP = nil
		writeValue(w, 204, nil)
	}))
	route("PATCH", "", draftPath+"/software/components", withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		var up struct {
			Set    map[string]string `json:"components_to_set"`
			Delete []string          `json:"components_to_delete"`
		}
		if json.Unmarshal(b, &up) != nil {
			vErr(w, 400, "INVALID_ARGUMENT", "vapi.bindings.typeconverter.invalid", "Invalid components update.")
			return
		}
		for n, v := range up.Set {
			d.Image.Components[n] = v
		}
		for _, n := range up.Delete {
			delete(d.Image.Components, n)
		}
		writeValue(w, 204, nil)
	}))
	// validate: ASSUMED result shape {"notifications": {"errors": [...]}} (the spec has no ValidateResult; the
	// task result is a bare object); the task itself succeeds.
	route("POST", "validate", draftPath, withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		problems := vlcm.validate(d.Image)
		vlcm.startTask(w, "com.vmware.esx.settings.clusters.software.drafts", "validate", "Validate draft "+d.ID, d.Owner, 1, func(t *vlcmTask) {
			t.mu.Lock()
			t.Result = map[string]interface{}{"notifications": problemNotes(problems, "ERROR")}
			t.mu.Unlock()
			t.finish("")
		})
	}))
	// commit: OBSERVED 400 INVALID_ARGUMENT "If validation of the software document fails"; ASSUMED: reported as a
	// failed task; the new commit is the task's target (CisTaskInfo.target, "the target created by the operation").
	route("POST", "commit", draftPath, withDraft(func(w http.ResponseWriter, c *vlcmCluster, d *vlcmDraft, b []byte) {
		problems := vlcm.validate(d.Image)
		if len(problems) == 0 {
			c.Desired = d.Image.clone()
			c.Commit = vlcm.next()
			delete(c.Drafts, d.ID)
		}
		commit := fmt.Sprint(c.Commit)
		vlcm.startTask(w, "com.vmware.esx.settings.clusters.software.drafts", "commit", "Commit draft "+d.ID, d.Owner, 1, func(t *vlcmTask) {
			if len(problems) > 0 {
				t.finish("Validation of the draft failed: " + strings.Join(problems, " "))
				return
			}
			t.mu.Lock()
			t.Target = map[string]string{"type": "com.vmware.esx.settings.commit", "id": commit}
			t.mu.Unlock()
			t.finish("")
		})
	}))
}

func problemNotes(problems []string, kind string) map[string]interface{} {
	var list []interface{}
	now := nowISO()
	for i, p := range problems {
		list = append(list, map[string]interface{}{"id": fmt.Sprintf("com.vmware.vcIntegrity.lifecycle.%d", i+1),
			"time": now, "message": lmsg("com.vmware.vcIntegrity.lifecycle.issue", p), "type": kind})
	}
	out := map[string]interface{}{}
	if len(list) > 0 {
		out[map[string]string{"ERROR": "errors", "WARNING": "warnings", "INFO": "info"}[kind]] = list
	}
	return out
}

func clusterFault(c *vlcmCluster, name string) *FaultSwitch {
	for _, h := range vlcm.hosts(c) {
		if f := h.fault(name); f != nil {
			return f
		}
	}
	return nil
}

type taskSpec struct {
	Commit     string   `json:"commit"`
	Hosts      []string `json:"hosts"`
	AcceptEula *bool    `json:"accept_eula"`
}

func (ts taskSpec) wants(id string) bool {
	if len(ts.Hosts) == 0 {
		return true
	}
	for _, h := range ts.Hosts {
		if h == id {
			return true
		}
	}
	return false
}

// hang blocks while the vlcm_task_hangs switch is set on a host of the cluster.
func hang(c *vlcmCluster) {
	for {
		vlcm.mu.Lock()
		f := clusterFault(c, "vlcm_task_hangs")
		vlcm.mu.Unlock()
		if f == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkFindings(c *vlcmCluster, ts taskSpec) (string, []interface{}, map[string]interface{}) {
	_, per := vlcm.clusterCompliance(c)
	status := "OK"
	var entities []interface{}
	info := map[string]interface{}{}
	var cl []interface{}
	if f := depotFault(); f != nil {
		status = "ERROR"
		cl = append(cl, lmsg("com.vmware.vcIntegrity.lifecycle.depotUnreachable", f.str("message", "Cannot download metadata from the configured depots.")))
	}
	clusterStatus := "OK"
	if len(cl) > 0 {
		clusterStatus = "ERROR"
	}
	entities = append(entities, map[string]interface{}{"type": "CLUSTER", "cluster": c.ID, "status": clusterStatus,
		"check_statuses": []interface{}{checkStatus("com.vmware.vcIntegrity.lifecycle.depots", "Depot access", clusterStatus, cl)}})
	for _, h := range vlcm.hosts(c) {
		if !ts.wants(h.Ref.Value) {
			continue
		}
		info[h.Ref.Value] = map[string]interface{}{"name": h.Name}
		var issues []interface{}
		if f := h.fault("vlcm_check_fails"); f != nil {
			issues = append(issues, lmsg("com.vmware.vcIntegrity.lifecycle.hostCheck", f.str("message",
				"Host "+h.Name+": the boot bank has not enough free space for the image (pre-check failed).")))
		}
		for _, p := range per[h.Ref.Value].problems {
			issues = append(issues, lmsg("com.vmware.vcIntegrity.lifecycle.image", p))
		}
		if !h.connected() {
			issues = append(issues, lmsg("com.vmware.vcIntegrity.lifecycle.hostNotConnected", "Host "+h.Name+" is not connected."))
		}
		if len(h.hostVMs(false)) > 0 && len(h.evacuationTargets()) == 0 {
			issues = append(issues, lmsg("com.vmware.vcIntegrity.lifecycle.vms", "Host "+h.Name+" has powered-on virtual machines that cannot be migrated (DRS is off or no other host is available)."))
		}
		st := "OK"
		if len(issues) > 0 {
			st, status = "ERROR", "ERROR"
		}
		entities = append(entities, map[string]interface{}{"type": "HOST", "host": h.Ref.Value, "status": st,
			"check_statuses": []interface{}{checkStatus("com.vmware.vcIntegrity.lifecycle.hostHealth", "Host remediation pre-checks", st, issues)}})
	}
	return status, entities, info
}

func checkStatus(id, name, status string, issues []interface{}) map[string]interface{} {
	if issues == nil {
		issues = []interface{}{}
	}
	return map[string]interface{}{"check": map[string]interface{}{"check": id, "name": lmsg(id+".name", name),
		"description": lmsg(id+".description", name)}, "status": status, "issues": issues}
}

// serveCheck: OBSERVED (esx-8.0.2.json): body EsxSettingsClustersSoftwareCheckSpec, 202 task id, 400
// NOT_ALLOWED_IN_CURRENT_STATE with another operation in progress. ASSUMED: the task result has the shape of
// EsxSettingsClustersSoftwareReportsLastCheckResultCheckResult; a failed check is a SUCCEEDED task with status ERROR.
func serveCheck(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
	var ts taskSpec
	_ = json.Unmarshal(b, &ts)
	if c.Busy {
		vErr(w, 400, "NOT_ALLOWED_IN_CURRENT_STATE", "com.vmware.vcIntegrity.lifecycle.busy", "Another operation is in progress on cluster "+c.Name+".")
		return
	}
	c.Busy = true
	vlcm.startTask(w, "com.vmware.esx.settings.clusters.software", "check", "Check cluster "+c.Name, u, 1, func(t *vlcmTask) {
		start := nowISO()
		hang(c)
		vlcm.mu.Lock()
		status, entities, info := checkFindings(c, ts)
		c.Busy = false
		commit := fmt.Sprint(c.Commit)
		vlcm.mu.Unlock()
		t.mu.Lock()
		t.Result = map[string]interface{}{"status": status, "start_time": start, "end_time": nowISO(), "commit": commit,
			"host_info": info, "entity_results": entities}
		t.mu.Unlock()
		t.finish("")
	})
}

// serveApply: OBSERVED (esx-8.0.2.json): body EsxSettingsClustersSoftwareApplySpec {commit, hosts, accept_eula}.
// ASSUMED: hosts one at a time, the first failure stops the task (FAILED, vCenter's message in error); the result
// has the shape of EsxSettingsClustersSoftwareReportsLastApplyResultApplyResult.
func serveApply(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
	var ts taskSpec
	_ = json.Unmarshal(b, &ts)
	if c.Busy {
		vErr(w, 400, "NOT_ALLOWED_IN_CURRENT_STATE", "com.vmware.vcIntegrity.lifecycle.busy", "Another operation is in progress on cluster "+c.Name+".")
		return
	}
	hosts := vlcm.hosts(c)
	c.Busy = true
	vlcm.startTask(w, "com.vmware.esx.settings.clusters.software", "apply", "Remediate cluster "+c.Name, u, len(hosts), func(t *vlcmTask) {
		start := nowISO()
		hang(c)
		res := map[string]interface{}{"commit": "", "host_info": map[string]interface{}{}, "notifications": map[string]interface{}{}}
		status := map[string]interface{}{}
		lists := map[string][]string{"ok": {}, "failed": {}, "skipped": {}}
		failure := ""
		if ts.AcceptEula == nil || !*ts.AcceptEula {
			failure = "The end user license agreement of the image must be accepted (accept_eula) to remediate cluster " + c.Name + "."
		}
		for i, h := range hosts {
			res["host_info"].(map[string]interface{})[h.Ref.Value] = map[string]interface{}{"name": h.Name}
			hs := map[string]interface{}{"start_time": nowISO(), "notifications": map[string]interface{}{}}
			vlcm.mu.Lock()
			res["commit"] = fmt.Sprint(c.Commit)
			hc := vlcm.hostCompliance(c, h, nowISO())
			vlcm.mu.Unlock()
			switch {
			case failure != "" || !ts.wants(h.Ref.Value) || hc.status == "COMPLIANT":
				hs["status"] = "SKIPPED"
				lists["skipped"] = append(lists["skipped"], h.Ref.Value)
			default:
				t.progress(i, "Remediating host "+h.Name)
				vlcm.mu.Lock()
				policy := c.Policy
				left, delay := c.retries()
				vlcm.mu.Unlock()
				err := remediateHost(h, hc, policy)
				for ; err != nil && left > 0; left-- { // failure_action RETRY: retry_count more attempts
					t.progress(i, fmt.Sprintf("Retrying host %s after: %v", h.Name, err))
					time.Sleep(delay)
					err = remediateHost(h, hc, policy)
				}
				if err != nil {
					failure = err.Error()
					hs["status"] = "ERROR"
					hs["notifications"] = problemNotes([]string{failure}, "ERROR")
					lists["failed"] = append(lists["failed"], h.Ref.Value)
				} else {
					hs["status"] = "OK"
					lists["ok"] = append(lists["ok"], h.Ref.Value)
				}
			}
			hs["end_time"] = nowISO()
			status[h.Ref.Value] = hs
			t.progress(i+1, "Host "+h.Name+" done")
		}
		overall := "OK"
		if failure != "" {
			overall = "ERROR"
		}
		res["status"] = map[string]interface{}{"status": overall, "start_time": start, "end_time": nowISO(), "notifications": map[string]interface{}{}}
		res["host_status"] = status
		res["successful_hosts"], res["failed_hosts"], res["skipped_hosts"] = lists["ok"], lists["failed"], lists["skipped"]
		vlcm.mu.Lock()
		c.Busy = false
		vlcm.mu.Unlock()
		t.mu.Lock()
		t.Result = res
		t.mu.Unlock()
		t.finish(failure)
	})
}

// ---------------------------------------------------------------- depots

func registerDepotRoutes() {
	const dp = "/api/esx/settings/depots"
	route("GET", "", dp+"/online", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		out := map[string]interface{}{}
		for id, o := range vlcm.online {
			out[id] = onlineDoc(o)
		}
		writeValue(w, 200, out)
	})
	// OBSERVED (esx-8.0.2.json): body EsxSettingsDepotsOnlineCreateSpec, 201 id, 400 ALREADY_EXISTS for a location.
	route("POST", "", dp+"/online", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		var spec struct {
			Location, Description string
			Enabled               *bool
		}
		_ = json.Unmarshal(b, &spec)
		for _, o := range vlcm.online {
			if o.Location == spec.Location {
				vErr(w, 400, "ALREADY_EXISTS", "com.vmware.vcIntegrity.lifecycle.depot.AlreadyExists", "Depot "+spec.Location+" already exists.")
				return
			}
		}
		o := &vlcmOnline{ID: fmt.Sprint(vlcm.next()), Location: spec.Location, Description: spec.Description, Enabled: spec.Enabled == nil || *spec.Enabled}
		vlcm.online[o.ID] = o
		writeValue(w, 201, o.ID)
	})
	route("GET", "", dp+"/online/{id}", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		if o := vlcm.online[m[1]]; o == nil {
			notFound(w, "Depot "+m[1])
		} else {
			d := onlineDoc(o)
			delete(d, "system_defined")
			writeValue(w, 200, d)
		}
	})
	route("PATCH", "", dp+"/online/{id}", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		o := vlcm.online[m[1]]
		if o == nil {
			notFound(w, "Depot "+m[1])
			return
		}
		var spec struct {
			Enabled     *bool   `json:"enabled"`
			Description *string `json:"description"`
		}
		_ = json.Unmarshal(b, &spec)
		if spec.Enabled != nil {
			o.Enabled = *spec.Enabled
		}
		if spec.Description != nil {
			o.Description = *spec.Description
		}
		writeValue(w, 204, nil)
	})
	route("DELETE", "", dp+"/online/{id}", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		if o := vlcm.online[m[1]]; o == nil || o.System {
			notFound(w, "User-defined depot "+m[1])
			return
		}
		delete(vlcm.online, m[1])
		writeValue(w, 204, nil)
	})
	route("POST", "sync", dp, func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		var todo []*vlcmOnline
		for _, o := range vlcm.online {
			if o.Enabled && !o.System {
				todo = append(todo, o)
			}
		}
		vlcm.startTask(w, "com.vmware.esx.settings.depots", "sync", "Synchronize depots", u, len(todo), func(t *vlcmTask) {
			var errs []string
			for i, o := range todo {
				d, derrs := vcFetcher().LoadDepots([]string{o.Location})
				if len(derrs) > 0 {
					errs = append(errs, fmt.Sprintf("Cannot download metadata from %s: %s", o.Location, derrs[0].Msg))
				} else {
					vlcm.mu.Lock()
					o.depot = d
					vlcm.mu.Unlock()
				}
				t.progress(i+1, "Synchronized "+o.Location)
			}
			t.finish(strings.Join(errs, " "))
		})
	})
	registerOfflineRoutes(dp)
	registerContentRoutes()
}

func onlineDoc(o *vlcmOnline) map[string]interface{} {
	return map[string]interface{}{"description": o.Description, "location": o.Location, "enabled": o.Enabled, "system_defined": o.System}
}

func registerOfflineRoutes(dp string) {
	route("GET", "", dp+"/offline", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		out := map[string]interface{}{}
		for id, o := range vlcm.offline {
			out[id] = map[string]interface{}{"description": o.Description, "source_type": o.SourceType, "location": o.Location}
		}
		writeValue(w, 200, out)
	})
	route("GET", "", dp+"/offline/{id}", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		o := vlcm.offline[m[1]]
		if o == nil {
			notFound(w, "Offline depot "+m[1])
			return
		}
		writeValue(w, 200, map[string]interface{}{"description": o.Description, "source_type": o.SourceType, "location": o.Location,
			"create_time": o.Created.Format("2006-01-02T15:04:05.000Z")})
	})
	route("DELETE", "", dp+"/offline/{id}", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		if vlcm.offline[m[1]] == nil {
			notFound(w, "Offline depot "+m[1])
			return
		}
		delete(vlcm.offline, m[1])
		writeValue(w, 204, nil)
	})
	// OBSERVED (esx-8.0.2.json): body EsxSettingsDepotsOfflineCreateSpec {source_type PULL|PUSH, location,
	// description}; 202 task; "The returned task will fail and no offline depot would be created if there are any
	// issues during import". ASSUMED: the depot id is the task's target; PUSH (file upload) is not simulated.
	route("POST", "", dp+"/offline", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		if r.URL.Query().Get("vmw-task") != "true" {
			notFound(w, "Operation")
			return
		}
		var spec struct {
			Description string `json:"description"`
			SourceType  string `json:"source_type"`
			Location    string `json:"location"`
		}
		_ = json.Unmarshal(b, &spec)
		if spec.SourceType != "PULL" || spec.Location == "" {
			vErr(w, 400, "INVALID_ARGUMENT", "com.vmware.vcIntegrity.lifecycle.depot.invalid", "Only PULL imports with a location are supported by the simulator.")
			return
		}
		vlcm.startTask(w, "com.vmware.esx.settings.depots.offline", "create", "Import offline depot "+spec.Location, u, 1, func(t *vlcmTask) {
			d, derrs := vcFetcher().LoadDepots([]string{spec.Location})
			if len(derrs) > 0 {
				t.finish(fmt.Sprintf("Cannot import the offline depot %s: %s", spec.Location, derrs[0].Msg))
				return
			}
			vlcm.mu.Lock()
			o := &vlcmOffline{ID: fmt.Sprint(vlcm.next()), Location: spec.Location, Description: spec.Description,
				SourceType: "PULL", Created: time.Now().UTC(), depot: d}
			vlcm.offline[o.ID] = o
			vlcm.mu.Unlock()
			t.mu.Lock()
			t.Target = map[string]string{"type": "com.vmware.esx.settings.depots.offline", "id": o.ID}
			t.mu.Unlock()
			t.finish("")
		})
	})
}

func registerContentRoutes() {
	const cp = "/api/esx/settings/depot-content"
	route("GET", "", cp+"/base-images", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		out := []interface{}{}
		seen := map[string]bool{}
		for _, d := range vlcm.depots() {
			for _, bl := range d.Bulletins {
				if bl.ComponentName != "ESXi" || seen[bl.ComponentVersion] {
					continue
				}
				seen[bl.ComponentVersion] = true
				out = append(out, map[string]interface{}{"display_name": "ESXi", "version": bl.ComponentVersion,
					"display_version": displayVersion(bl.ComponentVersion), "summary": bl.Summary, "category": categoryOf(bl),
					"kb": kbOf(bl), "release_date": isoDate(bl.ReleaseDate)})
			}
		}
		writeValue(w, 200, out)
	})
	route("GET", "", cp+"/add-ons", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		writeValue(w, 200, []interface{}{})
	})
	route("GET", "", cp+"/components", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		byName := map[string]map[string]interface{}{}
		seen := map[string]bool{}
		for _, d := range vlcm.depots() {
			for _, bl := range d.Bulletins {
				if bl.ComponentName == "" || bl.ComponentName == "ESXi" || seen[bl.ComponentName+"/"+bl.ComponentVersion] {
					continue
				}
				seen[bl.ComponentName+"/"+bl.ComponentVersion] = true
				e := byName[bl.ComponentName]
				if e == nil {
					e = map[string]interface{}{"name": bl.ComponentName, "display_name": bl.ComponentName, "vendor": bl.Vendor, "versions": []interface{}{}}
					byName[bl.ComponentName] = e
				}
				e["versions"] = append(e["versions"].([]interface{}), map[string]interface{}{"version": bl.ComponentVersion,
					"display_version": bl.ComponentVersion, "summary": bl.Summary, "category": categoryOf(bl),
					"urgency": urgencyOf(bl), "kb": kbOf(bl), "release_date": isoDate(bl.ReleaseDate)})
			}
		}
		var names []string
		for n := range byName {
			names = append(names, n)
		}
		sort.Strings(names)
		out := []interface{}{}
		for _, n := range names {
			out = append(out, byName[n])
		}
		writeValue(w, 200, out)
	})
}

// categoryOf / urgencyOf: the bulletin's category and severity mapped onto the spec's enums (ASSUMED mapping).
func categoryOf(b *Bulletin) string {
	switch strings.ToLower(b.Category) {
	case "security":
		return "SECURITY"
	case "enhancement":
		return "ENHANCEMENT"
	}
	return "BUGFIX"
}

func urgencyOf(b *Bulletin) string {
	switch strings.ToLower(b.Severity) {
	case "critical":
		return "CRITICAL"
	case "important":
		return "IMPORTANT"
	case "moderate":
		return "MODERATE"
	case "low":
		return "LOW"
	}
	return "GENERAL"
}

func kbOf(b *Bulletin) string {
	if b.KbURL != "" {
		return b.KbURL
	}
	return "https://kb.vmware.com"
}
