package main

// Control API for tests (not part of any VMware API), on the same HTTPS server, HTTP basic auth with
// the simulator's credentials:
//   POST /_sim/fault  {"host": "<name>|*", "fault": "<switch>", "params": {...}}
//   POST /_sim/clear  {"host": "<name>"}   (no host: every host)
//   GET  /_sim/state?host=<name>           (no host: summary of all hosts)
//   POST /_sim/power_on {"host": "<name>"} (after ShutdownHost_Task)

import (
	"encoding/json"
	"fmt"
	"io/ioutil"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/simulator"
)

var knownFaults = map[string]string{
	"depot_unreachable":         "host-side downloads fail (params: message)",
	"task_error":                "next patch task fails (params: type, text, method, count)",
	"disconnect_during_install": "host drops off in the middle of the next install (params: seconds)",
	"reboot_never_returns":      "host stays down after the next reboot until cleared",
	"slow_tasks":                "patch tasks take longer (params: seconds)",
	"esxupdate_error":           "next install (or stage, method=StageV2) fails as esxupdate does, with a real-shaped exit state (params: class, lines, method)",
}

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func targetHosts(name string) ([]*Host, error) {
	if name == "" || name == "*" {
		hostsMu.RLock()
		defer hostsMu.RUnlock()
		return append([]*Host(nil), hostOrder...), nil
	}
	h := hostByName(name)
	if h == nil {
		return nil, fmt.Errorf("unknown host %q", name)
	}
	return []*Host{h}, nil
}

func serveControl(w http.ResponseWriter, r *http.Request) {
	if !basicAuthOK(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="esxisim"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "authentication required"})
		return
	}
	var req struct {
		Host   string                 `json:"host"`
		Fault  string                 `json:"fault"`
		Params map[string]interface{} `json:"params"`
	}
	if r.Method == http.MethodPost {
		data, _ := ioutil.ReadAll(r.Body)
		if len(data) > 0 {
			if err := json.Unmarshal(data, &req); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
		}
	}
	if req.Host == "" {
		req.Host = r.URL.Query().Get("host")
	}
	switch r.URL.Path {
	case "/_sim/fault":
		if r.Method != http.MethodPost {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "POST only"})
			return
		}
		if _, ok := knownFaults[req.Fault]; !ok {
			writeJSON(w, http.StatusBadRequest, map[string]interface{}{"error": "unknown fault " + req.Fault, "known": knownFaults})
			return
		}
		hs, err := targetHosts(req.Host)
		if err != nil || req.Host == "" {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("host required: %v", err)})
			return
		}
		for _, h := range hs {
			p := map[string]interface{}{}
			for k, v := range req.Params {
				p[k] = v
			}
			h.mu.Lock()
			if h.Faults == nil {
				h.Faults = map[string]*FaultSwitch{}
			}
			h.Faults[req.Fault] = &FaultSwitch{Name: req.Fault, Params: p}
			h.mu.Unlock()
			logf("fault %s set on %s %v", req.Fault, h.Name, p)
		}
		writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true, "hosts": len(hs)})
	case "/_sim/clear", "/_sim/power_on":
		hs, err := targetHosts(req.Host)
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		for _, h := range hs {
			h.mu.Lock()
			if r.URL.Path == "/_sim/power_on" {
				delete(h.Faults, "powered_off")
			} else {
				h.Faults = map[string]*FaultSwitch{}
			}
			h.mu.Unlock()
		}
		writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true, "hosts": len(hs)})
	case "/_sim/state":
		if req.Host == "" {
			var names []string
			hostsMu.RLock()
			for _, h := range hostOrder {
				names = append(names, h.Name)
			}
			hostsMu.RUnlock()
			mode := "vc"
			if cfg.ESX {
				mode = "esx"
			}
			writeJSON(w, http.StatusOK, map[string]interface{}{"mode": mode, "hosts": names})
			return
		}
		h := hostByName(req.Host)
		if h == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown host " + req.Host})
			return
		}
		writeJSON(w, http.StatusOK, h.stateJSON())
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control endpoint " + r.URL.Path})
	}
}

// serveDatastoreDelete adds DELETE to vcsim's /folder handler (which serves GET/PUT/POST).
// OBSERVED (vSphere docs, "HTTP access to datastores"): DELETE /folder/<path>?dcPath=&dsName= removes a file.
func serveDatastoreDelete(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		if ds.Name != q.Get("dsName") {
			continue
		}
		root := ds.Info.GetDatastoreInfo().Url
		rel := path.Clean("/" + strings.TrimPrefix(r.URL.Path, "/folder"))
		p := filepath.Join(root, filepath.FromSlash(rel))
		if p == root || !strings.HasPrefix(p, root) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if _, err := os.Stat(p); err != nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if err := os.RemoveAll(p); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusNotFound)
}
