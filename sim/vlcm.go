package main

// vLCM REST surface (vCenter mode), on the SOAP listener, in the "/api" flavour of the vSphere Automation API.
// Paths, query parameters and bodies are those of VMware's Swagger files (tests/fixtures/vmware-api-specs:
// esx-8.0.2.json, cis-8.0.2.json, session-8.0.2.json, vcenter-7.0.3.json); the tests validate every exchange
// against them (tests/helpers/openapi.py). The model is in vlcm_model.go; docs/simulator.md lists what is
// OBSERVED and what is ASSUMED.
//
// Served: POST/DELETE /api/session; GET /api/vcenter/cluster; /api/esx/settings/clusters/{cluster}/enablement/software
// (GET); /api/esx/settings/clusters/{cluster}/software (GET, ?action=export, ?action=check|apply&vmw-task=true),
// .../compliance, .../drafts (POST, GET), .../drafts/{draft} (GET, DELETE, ?action=validate|commit&vmw-task=true),
// .../drafts/{draft}/software/{base-image,add-on,components,hardware-support}; GET /api/cis/tasks/{task};
// /api/esx/settings/depots/online[/{depot}], /offline[?vmw-task=true][/{depot}[/content]],
// /depots?action=sync&vmw-task=true; /api/esx/settings/depot-content/{base-images,add-ons,components}.
// Plus GET /vlcm-export/<file>: the download behind ?action=export (ASSUMED path; real vCenter hands out its own).

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

type vlcmTask struct {
	mu                           sync.Mutex
	ID, Service, Operation, Desc string
	Status, Msg, Err             string
	Total, Done                  int
	Result                       map[string]interface{}
	Target                       map[string]string
	Start, End                   time.Time
	User                         string
}

func lmsg(id, text string) map[string]interface{} {
	return map[string]interface{}{"id": id, "default_message": text, "args": []string{}}
}

func (t *vlcmTask) doc() map[string]interface{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := map[string]interface{}{"description": lmsg(t.Service+"."+t.Operation, t.Desc), "service": t.Service,
		"operation": t.Operation, "status": t.Status, "cancelable": false, "user": t.User}
	if t.Status != "PENDING" {
		d["start_time"] = t.Start.Format("2006-01-02T15:04:05.000Z")
		d["progress"] = map[string]interface{}{"total": t.Total, "completed": t.Done, "message": lmsg("com.vmware.vcIntegrity.lifecycle.progress", t.Msg)}
	}
	if t.Status == "SUCCEEDED" || t.Status == "FAILED" {
		d["end_time"] = t.End.Format("2006-01-02T15:04:05.000Z")
	}
	if t.Result != nil {
		d["result"] = t.Result
	}
	if t.Target != nil {
		d["target"] = t.Target
	}
	if t.Err != "" {
		d["error"] = t.Err // OBSERVED (cis-8.0.2.json, CisTaskInfo.error): a string
	}
	return d
}

func (t *vlcmTask) progress(done int, msg string) {
	t.mu.Lock()
	t.Done, t.Msg = done, msg
	t.mu.Unlock()
}

func (t *vlcmTask) finish(err string) {
	t.mu.Lock()
	t.End = time.Now().UTC()
	if err != "" {
		t.Status, t.Err = "FAILED", err
	} else {
		t.Status, t.Done = "SUCCEEDED", t.Total
	}
	t.mu.Unlock()
}

func randID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startTask: OBSERVED (esx-8.0.2.json): "...&vmw-task=true" operations answer 202 with the task id, polled at
// /api/cis/tasks/{task}. ASSUMED id form "<uuid>:<service>".
func (s *vlcmState) startTask(w http.ResponseWriter, service, op, desc, user string, total int, fn func(t *vlcmTask)) {
	t := &vlcmTask{ID: randID(16) + ":" + service, Service: service, Operation: op, Desc: desc, Status: "RUNNING",
		Total: total, Start: time.Now().UTC(), User: user, Msg: desc}
	s.tasks[t.ID] = t
	go fn(t)
	writeValue(w, http.StatusAccepted, t.ID)
}

func writeValue(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// vErr: OBSERVED (esx-8.0.2.json VapiStdErrors*): {"error_type": ..., "messages": [localizable messages]}.
func vErr(w http.ResponseWriter, code int, kind, id, msg string) {
	writeValue(w, code, map[string]interface{}{"error_type": kind, "messages": []interface{}{lmsg(id, msg)}})
}

func notFound(w http.ResponseWriter, what string) {
	vErr(w, http.StatusNotFound, "NOT_FOUND", "com.vmware.vapi.std.errors.not_found", what+" not found.")
}

type vlcmRoute struct {
	method, action string
	re             *regexp.Regexp
	fn             func(w http.ResponseWriter, r *http.Request, m []string, user string, body []byte)
}

var vlcmRoutes []vlcmRoute

var taskActions = map[string]bool{"check": true, "apply": true, "validate": true, "commit": true, "sync": true}

func route(method, action, pattern string, fn func(w http.ResponseWriter, r *http.Request, m []string, user string, body []byte)) {
	p := strings.NewReplacer("{id}", "([^/]+)").Replace(pattern)
	vlcmRoutes = append(vlcmRoutes, vlcmRoute{method, action, regexp.MustCompile("^" + p + "$"), fn})
}

var vlcmLoadOnce sync.Once

var exports = struct {
	sync.Mutex
	files map[string][]byte
}{files: map[string][]byte{}}

// serveVlcm answers /api/... and /vlcm-export/... in vCenter mode; false for every other request.
func serveVlcm(w http.ResponseWriter, r *http.Request) bool {
	if cfg.ESX {
		return false
	}
	vlcmLoadOnce.Do(func() { // at the first request of any kind: the SOAP side sees lifecycleManaged from the start
		vlcm.mu.Lock()
		vlcm.load()
		vlcm.mu.Unlock()
	})
	if strings.HasPrefix(r.URL.Path, "/vlcm-export/") {
		if vlcmUser(r) == "" && !basicAuthOK(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		exports.Lock()
		data, ok := exports.files[strings.TrimPrefix(r.URL.Path, "/vlcm-export/")]
		exports.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
		return true
	}
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	body, _ := ioutil.ReadAll(r.Body)
	vlcm.mu.Lock()
	vlcm.load()
	vlcm.mu.Unlock()
	if logPath := os.Getenv("ESXISIM_VLCM_LOG"); logPath != "" {
		rec := &recordWriter{ResponseWriter: w, code: 200}
		defer logExchange(logPath, r, body, rec)
		w = rec
	}
	if r.URL.Path == "/api/session" {
		serveSession(w, r)
		return true
	}
	user := vlcmUser(r)
	if user == "" {
		vErr(w, http.StatusUnauthorized, "UNAUTHENTICATED", "vapi.method.authentication.required", "This method requires authentication.")
		return true
	}
	action := r.URL.Query().Get("action")
	for _, rt := range vlcmRoutes {
		if rt.method != r.Method || rt.action != action {
			continue
		}
		// OBSERVED (esx-8.0.2.json): these actions exist only as "...&vmw-task=true" operations
		if taskActions[action] && r.URL.Query().Get("vmw-task") != "true" {
			continue
		}
		if m := rt.re.FindStringSubmatch(r.URL.Path); m != nil {
			vlcm.mu.Lock()
			rt.fn(w, r, m, user, body)
			vlcm.mu.Unlock()
			return true
		}
	}
	vErr(w, http.StatusNotFound, "NOT_FOUND", "com.vmware.vapi.rest.httpNotFound", "Operation "+r.Method+" "+r.URL.Path+" not found.")
	return true
}

// recordWriter keeps the status and body of an answer for the exchange log.
type recordWriter struct {
	http.ResponseWriter
	code int
	body []byte
}

func (rw *recordWriter) WriteHeader(code int) { rw.code = code; rw.ResponseWriter.WriteHeader(code) }
func (rw *recordWriter) Write(b []byte) (int, error) {
	rw.body = append(rw.body, b...)
	return rw.ResponseWriter.Write(b)
}

var logMu sync.Mutex

// logExchange appends one JSON line per /api exchange to $ESXISIM_VLCM_LOG (set by the tests, which validate
// every line against VMware's spec). The session header is logged as present/absent only, never its value.
func logExchange(p string, r *http.Request, reqBody []byte, rec *recordWriter) {
	line, _ := json.Marshal(map[string]interface{}{"method": r.Method, "url": r.URL.RequestURI(),
		"session": r.Header.Get("vmware-api-session-id") != "", "basic_auth": r.Header.Get("Authorization") != "",
		"request": string(reqBody), "status": rec.code, "response": string(rec.body)})
	logMu.Lock()
	defer logMu.Unlock()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}

func vlcmUser(r *http.Request) string {
	id := r.Header.Get("vmware-api-session-id")
	if id == "" {
		return ""
	}
	vlcm.mu.Lock()
	defer vlcm.mu.Unlock()
	return vlcm.sessions[id]
}

// serveSession: OBSERVED (session-8.0.2.json): POST with basic auth -> 201 and the session id as a JSON string;
// DELETE -> 204; failures 401 UNAUTHENTICATED.
func serveSession(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		if !basicAuthOK(r) {
			vErr(w, http.StatusUnauthorized, "UNAUTHENTICATED", "com.vmware.vapi.endpoint.method.authentication.required",
				"Authentication required.")
			return
		}
		id := randID(16)
		u, _, _ := r.BasicAuth()
		vlcm.mu.Lock()
		vlcm.sessions[id] = u
		vlcm.mu.Unlock()
		writeValue(w, http.StatusCreated, id)
	case http.MethodDelete:
		id := r.Header.Get("vmware-api-session-id")
		vlcm.mu.Lock()
		_, ok := vlcm.sessions[id]
		delete(vlcm.sessions, id)
		vlcm.mu.Unlock()
		if !ok {
			vErr(w, http.StatusUnauthorized, "UNAUTHENTICATED", "vapi.method.authentication.required", "This method requires authentication.")
			return
		}
		writeValue(w, http.StatusNoContent, nil)
	default:
		vErr(w, http.StatusNotFound, "NOT_FOUND", "com.vmware.vapi.rest.httpNotFound", "Operation not found.")
	}
}

// ---------------------------------------------------------------- handlers

const clusterPath = "/api/esx/settings/clusters/{id}"

func init() {
	route("GET", "", "/api/vcenter/cluster", listClusters)
	route("GET", "", clusterPath+"/enablement/software", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		if c := vlcm.clusters[m[1]]; c == nil {
			notFound(w, "Cluster "+m[1])
		} else {
			writeValue(w, 200, map[string]interface{}{"enabled": c.Managed})
		}
	})
	route("GET", "", clusterPath+"/software", withCluster(func(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
		writeValue(w, 200, vlcm.softwareInfo(c.Desired))
	}))
	route("POST", "export", clusterPath+"/software", withCluster(serveExport))
	route("GET", "", clusterPath+"/software/compliance", withCluster(func(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
		doc, _ := vlcm.clusterCompliance(c)
		writeValue(w, 200, doc)
	}))
	route("POST", "check", clusterPath+"/software", withCluster(serveCheck))
	route("POST", "apply", clusterPath+"/software", withCluster(serveApply))
	registerDraftRoutes()
	registerDepotRoutes()
	route("GET", "", "/api/cis/tasks/{id}", func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		if t := vlcm.tasks[m[1]]; t == nil {
			notFound(w, "Task "+m[1])
		} else {
			writeValue(w, 200, t.doc())
		}
	})
}

func listClusters(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
	names := r.URL.Query()["names"]
	ids := r.URL.Query()["clusters"]
	in := func(list []string, v string) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	out := []interface{}{}
	var keys []string
	for id := range vlcm.clusters {
		keys = append(keys, id)
	}
	sort.Strings(keys)
	for _, id := range keys {
		c := vlcm.clusters[id]
		if !in(names, c.Name) || !in(ids, c.ID) {
			continue
		}
		drs := false
		for _, h := range vlcm.hosts(c) {
			drs = drs || h.DRS
		}
		out = append(out, map[string]interface{}{"cluster": c.ID, "name": c.Name, "ha_enabled": false, "drs_enabled": drs})
	}
	writeValue(w, 200, out)
}

// withCluster resolves {cluster}; a cluster not managed with a single image answers 404 (ASSUMED text).
type cHandler func(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte)

func withCluster(fn cHandler) func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
	return func(w http.ResponseWriter, r *http.Request, m []string, u string, b []byte) {
		c := vlcm.clusters[m[1]]
		if c == nil {
			notFound(w, "Cluster "+m[1])
			return
		}
		if !c.Managed {
			vErr(w, http.StatusNotFound, "NOT_FOUND", "com.vmware.vcIntegrity.lifecycle.NotManagedBySingleImage",
				"Cluster "+c.Name+" ("+c.ID+") is not managed with a single image.")
			return
		}
		fn(w, r, c, m, u, b)
	}
}

// softwareInfo: EsxSettingsSoftwareInfo of a desired image. Caller holds mu.
func (s *vlcmState) softwareInfo(im *vlcmImage) map[string]interface{} {
	comps := map[string]interface{}{}
	for n, v := range im.Components {
		e := map[string]interface{}{"version": v}
		if b, _ := s.component(n, v); b != nil {
			e["details"] = map[string]interface{}{"display_name": n, "vendor": b.Vendor, "display_version": v}
		}
		comps[n] = e
	}
	out := map[string]interface{}{"base_image": s.baseImageInfo(im.BaseImage), "components": comps, "solutions": map[string]interface{}{}}
	if im.AddOn != nil {
		out["add_on"] = map[string]interface{}{"name": im.AddOn.Name, "version": im.AddOn.Version}
	}
	if len(im.HSP) > 0 {
		out["hardware_support"] = map[string]interface{}{"packages": im.HSP}
	}
	return out
}

func specDoc(im *vlcmImage) map[string]interface{} {
	out := map[string]interface{}{"base_image": map[string]interface{}{"version": im.BaseImage}, "components": im.Components}
	if im.AddOn != nil {
		out["add_on"] = map[string]interface{}{"name": im.AddOn.Name, "version": im.AddOn.Version}
	}
	if len(im.HSP) > 0 {
		out["hardware_support"] = map[string]interface{}{"packages": im.HSP}
	}
	return out
}

// serveExport: OBSERVED (esx-8.0.2.json): body EsxSettingsClustersSoftwareExportSpec, answer a map export type ->
// URL. ASSUMED: key "SOFTWARE_SPEC"; the document is EsxSettingsSoftwareSpec-shaped JSON; ISO and offline bundle
// exports are not simulated (400).
func serveExport(w http.ResponseWriter, r *http.Request, c *vlcmCluster, m []string, u string, b []byte) {
	var spec struct {
		Spec  bool `json:"export_software_spec"`
		ISO   bool `json:"export_iso_image"`
		Bndle bool `json:"export_offline_bundle"`
	}
	_ = json.Unmarshal(b, &spec)
	if spec.ISO || spec.Bndle {
		vErr(w, 400, "INVALID_ARGUMENT", "com.vmware.vcIntegrity.lifecycle.export.unsupported", "The simulator exports the software specification only.")
		return
	}
	out := map[string]string{}
	if spec.Spec {
		name := fmt.Sprintf("%s-%d-software-spec.json", c.ID, c.Commit)
		data, _ := json.MarshalIndent(specDoc(c.Desired), "", "  ")
		exports.Lock()
		exports.files[name] = data
		exports.Unlock()
		out["SOFTWARE_SPEC"] = "https://" + r.Host + "/vlcm-export/" + name
	}
	writeValue(w, 200, out)
}
