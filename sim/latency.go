package main

// Fleet-scale switches (issue 14), one hook line in front.go (ServeHTTP):
//   - a per-call latency: every SOAP request (POST /sdk) waits this long before it is served, so that a
//     benchmark sees what a real vCenter's round trips cost. ASSUMED: 50 ms is a plausible vCenter round trip
//     for a small call across a data-centre network; the simulator itself answers in well under 1 ms. Set with
//     -latency 50ms, FLEETPATCH_SIM_LATENCY=50ms, or at run time: POST /_sim/latency {"latency": "50ms"}.
//     Requests wait concurrently (one goroutine per connection), as they would on a real server.
//   - counters: GET /_sim/stats answers {"soap_calls", "logins", "logouts", "latency_ms"}; POST
//     /_sim/stats/reset zeroes them. Logins are SessionManager.Login / LoginByToken / LoginExtension* calls,
//     logouts SessionManager.Logout calls; the benchmark counts vCenter logins with them.
// Both control endpoints need the simulator's basic-auth credentials, as the rest of /_sim does.
//   - garbage collection: a 1,000-host inventory is a large heap that Go's collector scans again and again
//     while it serves calls (about a third of the simulator's CPU per SOAP call at the default GOGC=100, measured
//     with pprof). Unless GOGC is set in the environment the simulator runs with GOGC=400: less CPU per call
//     (1,000-host repeat scan: 0.76 s of simulator CPU instead of 1.07 s) for more memory (the heap may grow to
//     five times its live size). Not a behaviour of ESXi or vCenter: how much of the test machine the simulator
//     takes.

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/ioutil"
	"net/http"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"
)

var (
	simLatency   int64 // nanoseconds
	soapCalls    int64
	soapLogins   int64
	soapLogouts  int64
	latencyFlag  time.Duration
	loginMarkers = [][]byte{[]byte("<Login "), []byte("<Login>"), []byte("<LoginByToken"), []byte("<LoginExtension")}
)

func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	def := time.Duration(0)
	if v := os.Getenv("FLEETPATCH_SIM_LATENCY"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	flag.DurationVar(&latencyFlag, "latency", def, "per-call latency of every SOAP request (ASSUMED real-vCenter round trip, e.g. 50ms)")
}

// fleetHook serves /_sim/latency and /_sim/stats, and for SOAP requests counts the call and waits the
// latency. It returns true when it answered the request itself.
func fleetHook(w http.ResponseWriter, r *http.Request) bool {
	if latencyFlag != 0 {
		atomic.CompareAndSwapInt64(&simLatency, 0, int64(latencyFlag))
		latencyFlag = 0
	}
	switch r.URL.Path {
	case "/_sim/latency", "/_sim/stats", "/_sim/stats/reset":
		if !basicAuthOK(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="esxisim control"`)
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		if r.URL.Path == "/_sim/latency" && r.Method == http.MethodPost {
			var req struct {
				Latency string `json:"latency"`
			}
			data, _ := ioutil.ReadAll(r.Body)
			d, err := time.Duration(0), json.Unmarshal(data, &req)
			if err == nil {
				d, err = time.ParseDuration(req.Latency)
			}
			if err != nil || d < 0 || d > time.Minute {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "latency: a Go duration between 0 and 1m, e.g. \"50ms\""})
				return true
			}
			atomic.StoreInt64(&simLatency, int64(d))
		}
		if r.URL.Path == "/_sim/stats/reset" {
			atomic.StoreInt64(&soapCalls, 0)
			atomic.StoreInt64(&soapLogins, 0)
			atomic.StoreInt64(&soapLogouts, 0)
		}
		writeJSON(w, http.StatusOK, map[string]interface{}{
			"soap_calls": atomic.LoadInt64(&soapCalls), "logins": atomic.LoadInt64(&soapLogins),
			"logouts": atomic.LoadInt64(&soapLogouts), "latency_ms": float64(atomic.LoadInt64(&simLatency)) / 1e6})
		return true
	}
	if r.Method == http.MethodPost && len(r.URL.Path) >= 4 && r.URL.Path[:4] == "/sdk" {
		body, err := ioutil.ReadAll(r.Body)
		if err == nil {
			r.Body = ioutil.NopCloser(bytes.NewReader(body))
			atomic.AddInt64(&soapCalls, 1)
			for _, m := range loginMarkers {
				if bytes.Contains(body, m) {
					atomic.AddInt64(&soapLogins, 1)
					break
				}
			}
			if bytes.Contains(body, []byte("<Logout")) {
				atomic.AddInt64(&soapLogouts, 1)
			}
		}
		if d := atomic.LoadInt64(&simLatency); d > 0 {
			time.Sleep(time.Duration(d))
		}
	}
	return false
}
