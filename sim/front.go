package main

// HTTP front handler in front of vcsim's mux:
//   - /_sim/... control API (control.go), always reachable, HTTP basic auth;
//   - ESX mode host outage: every other connection is dropped (TCP close), like a rebooting ESXi;
//   - `_this type="HostSystem"` rewrite to HostSystemExt for the methods in extMethods, and
//     `type="EventManager"` to EventManagerExt for LogUserEvent, CreateCollectorForEvents, QueryEvents;
//   - session cookie bookkeeping so an ESXi reboot invalidates sessions (NotAuthenticated after);
//   - /folder (datastore file access) requires a live session cookie or basic auth.

import (
	"bytes"
	"crypto/subtle"
	"io/ioutil"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

type frontHandler struct {
	inner http.Handler
	mu    sync.Mutex
	down  bool
	live  map[string]bool // session cookies issued by the simulator and not invalidated by us
}

var front = &frontHandler{live: map[string]bool{}}

var hostMethodRe, eventMethodRe *regexp.Regexp

func init() {
	hostMethodRe = regexp.MustCompile(`(<(?:` + strings.Join(extMethods, "|") + `)\b[^>]*>\s*<_this\b[^>]*type=")HostSystem(")`)
	// EventManager methods served by EventManagerExt (events.go)
	eventMethodRe = regexp.MustCompile(`(<(?:LogUserEvent|CreateCollectorForEvents|QueryEvents)\b[^>]*>\s*<_this\b[^>]*type=")EventManager(")`)
}

func (f *frontHandler) setDown(d bool) {
	f.mu.Lock()
	f.down = d
	f.mu.Unlock()
}

func (f *frontHandler) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

// terminateAllSessions: a rebooted ESXi forgets all sessions.
func terminateAllSessions() {
	front.mu.Lock()
	var keys []string
	for k := range front.live {
		keys = append(keys, k)
	}
	front.live = map[string]bool{}
	front.mu.Unlock()
	sm := simulator.Map.SessionManager()
	for _, k := range keys {
		ctx := &simulator.Context{Session: &simulator.Session{UserSession: types.UserSession{Key: "sim-internal"}}}
		simulator.Map.WithLock(sm, func() {
			sm.TerminateSession(ctx, &types.TerminateSession{SessionId: []string{k}})
		})
	}
}

type captureWriter struct {
	http.ResponseWriter
	f *frontHandler
}

func (c *captureWriter) WriteHeader(code int) {
	for _, ck := range (&http.Response{Header: c.Header()}).Cookies() {
		if ck.Name == soap.SessionCookieName {
			c.f.mu.Lock()
			c.f.live[ck.Value] = true
			c.f.mu.Unlock()
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) { return c.ResponseWriter.Write(b) }

// fixSearchSpec: vcsim 0.24.2 panics in SearchDatastore(SubFolders)_Task when searchSpec is omitted
// and matches nothing without a matchPattern; both are optional in the API and mean "all files"
// (API reference, HostDatastoreBrowserSearchSpec.matchPattern).
var searchSpecOpen = regexp.MustCompile(`<searchSpec\b[^>]*?>`)

func fixSearchSpec(body []byte) []byte {
	for _, m := range []string{"SearchDatastore_Task", "SearchDatastoreSubFolders_Task"} {
		end := []byte("</" + m + ">")
		if !bytes.Contains(body, end) {
			continue
		}
		if !bytes.Contains(body, []byte("<searchSpec")) {
			return bytes.Replace(body, end, append([]byte("<searchSpec><matchPattern>*</matchPattern></searchSpec>"), end...), 1)
		}
		if !bytes.Contains(body, []byte("<matchPattern")) {
			loc := searchSpecOpen.FindIndex(body)
			if loc != nil && !bytes.HasSuffix(body[loc[0]:loc[1]], []byte("/>")) {
				out := append([]byte{}, body[:loc[1]]...)
				out = append(out, []byte("<matchPattern>*</matchPattern>")...)
				return append(out, body[loc[1]:]...)
			}
		}
	}
	return body
}

func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}

func basicAuthOK(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(u), []byte(cfg.User)) == 1 &&
		subtle.ConstantTimeCompare([]byte(p), []byte(cfg.Password)) == 1
}

func (f *frontHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if fleetHook(w, r) { // per-call latency and SOAP/login counters (latency.go, fleet scale)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		serveControl(w, r)
		return
	}
	if serveVlcm(w, r) { // vLCM REST surface, VC mode only (vlcm.go, owned by the vLCM work)
		return
	}
	if f.isDown() {
		dropConnection(w) // OBSERVED (prototype): a rebooting ESXi drops the TCP connection
		return
	}
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/sdk"):
		body, err := ioutil.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		body = hostMethodRe.ReplaceAll(body, []byte("${1}HostSystemExt${2}"))
		body = eventMethodRe.ReplaceAll(body, []byte("${1}EventManagerExt${2}"))
		body = fixSearchSpec(body)
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		if ck, err := r.Cookie(soap.SessionCookieName); err == nil {
			f.mu.Lock()
			known := f.live[ck.Value]
			f.mu.Unlock()
			if !known {
				r.Header.Del("Cookie") // invalidated session: vcsim answers NotAuthenticated
			}
		}
	case strings.HasPrefix(r.URL.Path, "/folder"):
		// OBSERVED (vSphere docs, datastore HTTP access): needs an authenticated session cookie or
		// basic auth. vcsim 0.24.2 itself does not check.
		ok := basicAuthOK(r)
		if ck, err := r.Cookie(soap.SessionCookieName); err == nil && !ok {
			f.mu.Lock()
			ok = f.live[ck.Value]
			f.mu.Unlock()
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="VMware HTTP server"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodDelete {
			serveDatastoreDelete(w, r)
			return
		}
	}
	f.inner.ServeHTTP(&captureWriter{w, f}, r)
}
