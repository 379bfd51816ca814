package main

// vCenter tagging over the vSphere Automation REST API ("vAPI"), VC mode only.
//
// govmomi 0.24.2's vapi/simulator (imported below; its init() registers the handlers through
// simulator.RegisterEndpoint, which runs when Service.RegisterEndpoints is set and the model is a vCenter) serves
// the "/rest" flavour of the API on the SOAP listener:
//   POST/DELETE/GET /rest/com/vmware/cis/session
//   /rest/com/vmware/cis/tagging/category[/id:<id>], /rest/com/vmware/cis/tagging/tag[/id:<id>]
//     (+ POST ?~action=list-tags-for-category), /rest/com/vmware/cis/tagging/tag-association[/id:<tag>]
//     (?~action=attach|detach|list-attached-objects, list-attached-tags, ...), plus the content library.
// It does not serve the newer "/api/..." paths (vCenter 7.0 U2 and later), nor does it check what real vCenter
// checks. vapiGuard adds, in front of it:
//   - login needs the simulator's credentials (vcsim accepts any non-empty user and password);
//     OBSERVED (govmomi issue 1361, terraform-provider-vsphere issue 756): vCenter answers a failed or missing
//     login with HTTP 401 and a vAPI error body {"type":"com.vmware.vapi.std.errors.unauthenticated",...}
//   - 401 and 404 answers carry vAPI error bodies (vcsim sends an empty body or "404 page not found");
//     OBSERVED form: {"type":"com.vmware.vapi.std.errors.not_found","value":{"messages":[{"args":[],
//     "default_message":...,"id":...}]}} (vmware-openapi-generator issue 72); the texts are ASSUMED
//   - attach checks the category of the tag: a SINGLE-cardinality category allows one of its tags per object.
//     OBSERVED message "Tagging cardinality violation" (community.vmware issues 1501 and 1785, ansible 63108);
//     ASSUMED: HTTP 400 with type com.vmware.vapi.std.errors.invalid_argument
//   - attach refuses an object type the category is not associable with (an empty list means every type).
//     OBSERVED: empty associable_types = all types (bosh-vsphere-cpi); ASSUMED: the error type and text
// Not modelled: attach-multiple-tags-to-object / attach-tag-to-multiple-objects skip both checks; the attached
// object is not checked for existence (vcsim TODO); sessions never expire.

import (
	"bytes"
	"encoding/json"
	"io/ioutil"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"

	_ "github.com/vmware/govmomi/vapi/simulator" // registers the vAPI REST handlers (see above)
)

const (
	vapiPrefix        = "/rest/"
	vapiSessionPath   = "/rest/com/vmware/cis/session"
	vapiCategoryPath  = "/rest/com/vmware/cis/tagging/category/id:"
	vapiTagPath       = "/rest/com/vmware/cis/tagging/tag/id:"
	vapiAssocPath     = "/rest/com/vmware/cis/tagging/tag-association"
	vapiSessionHeader = "vmware-api-session-id"
)

type vapiGuard struct {
	inner http.Handler
	mu    sync.Mutex // attach checks and the attach itself run one at a time
}

func newVapiGuard(inner http.Handler) http.Handler {
	return &vapiGuard{inner: inner}
}

type vapiObject struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

func writeVapiError(w http.ResponseWriter, status int, kind, id, msg string) {
	body := map[string]interface{}{
		"type": "com.vmware.vapi.std.errors." + kind,
		"value": map[string]interface{}{
			"messages": []map[string]interface{}{{"args": []string{}, "default_message": msg, "id": id}},
		},
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("X-Content-Type-Options")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// vapiErrorWriter turns vcsim's bare 401/404 answers into vAPI error bodies.
type vapiErrorWriter struct {
	http.ResponseWriter
	path     string
	replaced bool
}

func (v *vapiErrorWriter) WriteHeader(code int) {
	switch code {
	case http.StatusUnauthorized:
		v.replaced = true
		writeVapiError(v.ResponseWriter, code, "unauthenticated", "vapi.method.authentication.required",
			"This method requires authentication.")
	case http.StatusNotFound:
		v.replaced = true
		writeVapiError(v.ResponseWriter, code, "not_found", "com.vmware.vapi.rest.notFound",
			"Object "+path.Base(v.path)+" not found.")
	default:
		v.ResponseWriter.WriteHeader(code)
	}
}

func (v *vapiErrorWriter) Write(b []byte) (int, error) {
	if v.replaced {
		return len(b), nil
	}
	return v.ResponseWriter.Write(b)
}

func (g *vapiGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if cfg.ESX || !strings.HasPrefix(r.URL.Path, vapiPrefix) {
		g.inner.ServeHTTP(w, r)
		return
	}
	action := r.URL.Query().Get("~action")
	if r.URL.Path == vapiSessionPath && r.Method == http.MethodPost && action == "" && !basicAuthOK(r) {
		writeVapiError(w, http.StatusUnauthorized, "unauthenticated", "vapi.method.authentication.required",
			"This method requires authentication.")
		return
	}
	if r.Method == http.MethodPost && action == "attach" && strings.HasPrefix(r.URL.Path, vapiAssocPath+"/id:") {
		g.mu.Lock()
		defer g.mu.Unlock()
		if !g.checkAttach(w, r) {
			return
		}
	}
	g.inner.ServeHTTP(&vapiErrorWriter{ResponseWriter: w, path: r.URL.Path}, r)
}

// sub runs an internal request on the vcsim handler with the caller's session; returns status and "value".
func (g *vapiGuard) sub(r *http.Request, method, target string, body interface{}) (int, json.RawMessage) {
	var rd *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set(vapiSessionHeader, vapiSession(r))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	g.inner.ServeHTTP(rec, req)
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out.Value
}

func vapiSession(r *http.Request) string {
	if id := r.Header.Get(vapiSessionHeader); id != "" {
		return id
	}
	if ck, err := r.Cookie(vapiSessionHeader); err == nil {
		return ck.Value
	}
	return ""
}

type vapiTag struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CategoryID string `json:"category_id"`
}

type vapiCategory struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Cardinality     string   `json:"cardinality"`
	AssociableTypes []string `json:"associable_types"`
}

// checkAttach answers (and returns false) when attaching the tag of the request would break its category's rules.
// Anything it cannot read (no session, unknown tag, bad body) is left to the vcsim handler, which answers it.
func (g *vapiGuard) checkAttach(w http.ResponseWriter, r *http.Request) bool {
	data, err := ioutil.ReadAll(r.Body)
	r.Body = ioutil.NopCloser(bytes.NewReader(data))
	if err != nil {
		return true
	}
	var spec struct {
		ObjectID *vapiObject `json:"object_id"`
	}
	if json.Unmarshal(data, &spec) != nil || spec.ObjectID == nil {
		return true
	}
	tagID := strings.TrimPrefix(path.Base(r.URL.Path), "id:")
	code, raw := g.sub(r, http.MethodGet, vapiTagPath+tagID, nil)
	var tag vapiTag
	if code != http.StatusOK || json.Unmarshal(raw, &tag) != nil {
		return true
	}
	code, raw = g.sub(r, http.MethodGet, vapiCategoryPath+tag.CategoryID, nil)
	var cat vapiCategory
	if code != http.StatusOK || json.Unmarshal(raw, &cat) != nil {
		return true
	}
	if len(cat.AssociableTypes) > 0 {
		ok := false
		for _, t := range cat.AssociableTypes {
			if t == spec.ObjectID.Type {
				ok = true
			}
		}
		if !ok {
			writeVapiError(w, http.StatusBadRequest, "invalid_argument", "cis.tagging.objectType.invalid",
				"Tag "+tag.Name+" of category "+cat.Name+" cannot be attached to objects of type "+
					spec.ObjectID.Type+".")
			return false
		}
	}
	if cat.Cardinality != "SINGLE" {
		return true
	}
	code, raw = g.sub(r, http.MethodPost, vapiAssocPath+"?~action=list-attached-tags",
		map[string]interface{}{"object_id": spec.ObjectID})
	var attached []string
	if code != http.StatusOK || json.Unmarshal(raw, &attached) != nil {
		return true
	}
	for _, id := range attached {
		if id == tagID {
			continue
		}
		code, raw = g.sub(r, http.MethodGet, vapiTagPath+id, nil)
		var other vapiTag
		if code == http.StatusOK && json.Unmarshal(raw, &other) == nil && other.CategoryID == tag.CategoryID {
			writeVapiError(w, http.StatusBadRequest, "invalid_argument", "cis.tagging.cardinality.violation",
				"Tagging cardinality violation")
			return false
		}
	}
	return true
}
