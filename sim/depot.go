package main

// Depot fetching and parsing (host side). Depots are downloaded over real HTTP with the Go net/http
// client, the way esxupdate on a host downloads them.
//
// OBSERVED (tests/fixtures/real, SOURCES.md): depot root index.xml (vendorList/vendor/{indexfile,
// relativePath}), vendor-index.xml (metaList/metadata/{productId, version, url}), metadata.zip with
// bulletins/*.xml, vibs/*.xml, optional profiles/*.xml and a legacy vmware.xml; offline bundles are
// zips holding index.xml, vendor-index.xml, metadata.zip (sometimes named <Vendor>-...-metadata.zip)
// and the .vib files at each VIB's relative-path; a .vib is an ar archive whose member
// descriptor.xml is the VIB descriptor.

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io/ioutil"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

type Bulletin struct {
	ID               string
	Vendor           string
	Summary          string
	Severity         string
	Category         string
	ReleaseType      string
	ReleaseDate      string
	KbURL            string
	ComponentName    string
	ComponentVersion string
	Platforms        []Platform
	VibIDs           []string
}

type DepotError struct {
	Class string // MetadataDownloadError, VibDownloadError, ...
	URL   string
	Msg   string
}

func (e *DepotError) Error() string { return "[" + e.Class + "] " + e.Msg }

type Depot struct {
	URLs      []string
	URLVibs   map[string][]string // metadata URL -> ids of the VIBs its load added
	Bulletins []*Bulletin
	Vibs      map[string]*Vib
	Profiles  []*Profile
	checksums map[string]string // vib id -> sha-256 of the .vib
	vibURL    map[string]string // vib id -> download location
	bundles   map[string]map[string][]byte
}

func newDepot() *Depot {
	return &Depot{Vibs: map[string]*Vib{}, URLVibs: map[string][]string{}, checksums: map[string]string{}, vibURL: map[string]string{}, bundles: map[string]map[string][]byte{}}
}

func (d *Depot) bulletin(id string) *Bulletin {
	for _, b := range d.Bulletins {
		if b.ID == id {
			return b
		}
	}
	return nil
}

func (d *Depot) profile(name string) *Profile {
	for _, p := range d.Profiles {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Fetcher downloads depot files for one host.
type Fetcher struct {
	Client *http.Client
	// Local maps a host-local path (/vmfs/volumes/<ds>/...) to a file on the simulator's disk.
	Local func(p string) (string, bool)
	// Check is called before every network download (fault switches, host firewall).
	Check func(u string) error
}

func (f *Fetcher) get(u string) ([]byte, error) {
	if strings.HasPrefix(u, "/") || strings.HasPrefix(u, "file://") {
		p := strings.TrimPrefix(u, "file://")
		if f.Local != nil {
			if lp, ok := f.Local(p); ok {
				return ioutil.ReadFile(lp)
			}
		}
		return nil, fmt.Errorf("[Errno 2] No such file or directory: '%s'", p)
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
		return nil, fmt.Errorf("unsupported URL scheme in %q", u)
	}
	if f.Check != nil {
		if err := f.Check(u); err != nil {
			return nil, err
		}
	}
	resp, err := f.Client.Get(u)
	if err != nil {
		return nil, fmt.Errorf("<urlopen error %v>", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP Error %d: %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return ioutil.ReadAll(resp.Body)
}

func resolveRef(base, ref string) string {
	if ref == "" {
		return base
	}
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "/") && !strings.Contains(base, "://") {
		return ref
	}
	if strings.Contains(base, "://") {
		b, err := url.Parse(base)
		if err != nil {
			return ref
		}
		r, err := url.Parse(ref)
		if err != nil {
			return ref
		}
		return b.ResolveReference(r).String()
	}
	return path.Join(path.Dir(base), ref)
}

func metadataError(u string, err error) *DepotError {
	// ASSUMED wording, modelled on public esxcli output:
	// "[MetadataDownloadError] Could not download from depot at <url>, skipping (('<url>', '', '<error>'))"
	return &DepotError{Class: "MetadataDownloadError", URL: u,
		Msg: fmt.Sprintf("Could not download from depot at %s, skipping (('%s', '', '%v'))\n url = %s\nPlease refer to the log file for more details.", u, u, err, u)}
}

func rootName(data []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}

func isZip(data []byte) bool { return len(data) > 4 && string(data[:4]) == "PK\x03\x04" }

func unzipAll(data []byte) (map[string][]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		b, err := ioutil.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(f.Name, "./")] = b
	}
	return out, nil
}

// LoadDepots downloads and parses every URL (index.xml, vendor-index.xml, metadata.zip or an
// offline bundle zip). Errors are collected per URL, as esxupdate skips failing depots.
func (f *Fetcher) LoadDepots(urls []string) (*Depot, []*DepotError) {
	d := newDepot()
	var errs []*DepotError
	seen := map[string]bool{}
	for _, u := range urls {
		if u == "" {
			continue
		}
		d.URLs = append(d.URLs, u)
		before := map[string]bool{}
		for id := range d.Vibs {
			before[id] = true
		}
		if err := f.loadURL(d, u, seen); err != nil {
			errs = append(errs, err)
		}
		for id := range d.Vibs {
			if !before[id] {
				d.URLVibs[u] = append(d.URLVibs[u], id)
			}
		}
	}
	sort.Slice(d.Bulletins, func(i, j int) bool { return d.Bulletins[i].ID < d.Bulletins[j].ID })
	return d, errs
}

func (f *Fetcher) loadURL(d *Depot, u string, seen map[string]bool) *DepotError {
	if seen[u] {
		return nil
	}
	seen[u] = true
	data, err := f.get(u)
	if err != nil {
		return metadataError(u, err)
	}
	if isZip(data) {
		files, err := unzipAll(data)
		if err != nil {
			return metadataError(u, err)
		}
		if _, ok := files["index.xml"]; ok { // offline bundle
			d.bundles[u] = files
			return f.loadIndex(d, u, files["index.xml"], func(rel string) ([]byte, string, error) {
				b, ok := files[strings.TrimPrefix(path.Clean(rel), "/")]
				if !ok {
					return nil, "", fmt.Errorf("%s not in bundle", rel)
				}
				return b, "bundle:" + u + "!/" + path.Clean(rel), nil
			}, seen)
		}
		// a metadata.zip referenced directly: VIBs are relative to the directory holding it
		return d.addMetadata(u, files, resolveRef(u, "."))
	}
	switch rootName(data) {
	case "vendorList":
		return f.loadIndex(d, u, data, func(rel string) ([]byte, string, error) {
			full := resolveRef(u, rel)
			b, err := f.get(full)
			return b, full, err
		}, seen)
	case "metaList":
		return f.loadVendorIndex(d, u, data, resolveRef(u, "."), func(rel string) ([]byte, string, error) {
			full := resolveRef(u, rel)
			b, err := f.get(full)
			return b, full, err
		})
	}
	return &DepotError{Class: "MetadataFormatError", URL: u, Msg: fmt.Sprintf("Failed to parse metadata at %s: not a depot index, vendor index or metadata.zip", u)}
}

type xmlVendorList struct {
	Vendors []struct {
		Name         string `xml:"name"`
		Code         string `xml:"code"`
		IndexFile    string `xml:"indexfile"`
		RelativePath string `xml:"relativePath"`
	} `xml:"vendor"`
}

type xmlMetaList struct {
	Metadata []struct {
		ProductID string `xml:"productId"`
		Version   string `xml:"version"`
		URL       string `xml:"url"`
	} `xml:"metadata"`
}

type getter func(rel string) ([]byte, string, error)

func (f *Fetcher) loadIndex(d *Depot, u string, data []byte, get getter, seen map[string]bool) *DepotError {
	var vl xmlVendorList
	if err := xml.Unmarshal(data, &vl); err != nil {
		return &DepotError{Class: "MetadataFormatError", URL: u, Msg: "Failed to parse " + u + ": " + err.Error()}
	}
	for _, v := range vl.Vendors {
		rel := path.Join(v.RelativePath, v.IndexFile)
		vdata, full, err := get(rel)
		if err != nil {
			return metadataError(resolveRef(u, rel), err)
		}
		base := path.Dir(rel)
		if e := f.loadVendorIndex(d, full, vdata, base, func(r string) ([]byte, string, error) {
			return get(path.Join(base, r))
		}); e != nil {
			return e
		}
	}
	return nil
}

func (f *Fetcher) loadVendorIndex(d *Depot, u string, data []byte, vibBase string, get getter) *DepotError {
	var ml xmlMetaList
	if err := xml.Unmarshal(data, &ml); err != nil {
		return &DepotError{Class: "MetadataFormatError", URL: u, Msg: "Failed to parse " + u + ": " + err.Error()}
	}
	done := map[string]bool{}
	for _, m := range ml.Metadata {
		if done[m.URL] {
			continue // one metadata.zip is often listed for several platforms
		}
		done[m.URL] = true
		mdata, full, err := get(m.URL)
		if err != nil {
			return metadataError(resolveRef(u, m.URL), err)
		}
		files, err := unzipAll(mdata)
		if err != nil {
			return metadataError(full, err)
		}
		// VIB relative-paths are relative to the folder holding the metadata zip
		// (OBSERVED: offline bundles keep metadata.zip at the root and vib20/... next to it)
		base := full[:strings.LastIndex(full, "/")+1]
		if e := d.addMetadata(full, files, base); e != nil {
			return e
		}
	}
	return nil
}

type xmlBulletin struct {
	ID          string `xml:"id"`
	Vendor      string `xml:"vendor"`
	Summary     string `xml:"summary"`
	Severity    string `xml:"severity"`
	Category    string `xml:"category"`
	ReleaseType string `xml:"releaseType"`
	ReleaseDate string `xml:"releaseDate"`
	KbURL       string `xml:"kbUrl"`
	Component   struct {
		Name string `xml:"name,attr"`
	} `xml:"componentNameSpec"`
	ComponentVersion struct {
		Version string `xml:"version,attr"`
	} `xml:"componentVersionSpec"`
	Platforms []xmlPlatform `xml:"platforms>softwarePlatform"`
	VibIDs    []string      `xml:"vibList>vibID"`
	// legacy vmware.xml form
	LegacyVibs []xmlLegacyVib `xml:"vibList>vib"`
}

type xmlLegacyVib struct {
	VibID   string          `xml:"vibID"`
	Name    string          `xml:"name"`
	Version string          `xml:"version"`
	Vendor  string          `xml:"vendor"`
	VibType string          `xml:"vibType"`
	Summary string          `xml:"summary"`
	MM1     string          `xml:"systemReqs>maintenanceMode"`
	MM2     string          `xml:"systemReqs>maintenance-mode"`
	SwPlat  []xmlPlatform   `xml:"systemReqs>swPlatform"`
	Depends []xmlConstraint `xml:"relationships>depends>constraint"`
	Confl   []xmlConstraint `xml:"relationships>conflicts>constraint"`
	Repl    []xmlConstraint `xml:"relationships>replaces>constraint"`
	Reboot  string          `xml:"postInstall>rebootRequired"`
	RelPath string          `xml:"vibFile>relativePath"`
	Sum     string          `xml:"vibFile>checksum>checksum"`
}

type xmlChecksumVib struct {
	Checksums []struct {
		Type  string `xml:"checksum-type,attr"`
		Value string `xml:",chardata"`
	} `xml:"checksum"`
}

type xmlDepotProfile struct {
	Name        string   `xml:"name"`
	Creator     string   `xml:"creator"`
	Created     string   `xml:"creationtime"`
	Modified    string   `xml:"modifiedtime"`
	Description string   `xml:"description"`
	VibIDs      []string `xml:"viblist>vib>vib-id"`
	Acceptance  string   `xml:"acceptancelevel"`
}

func (d *Depot) addMetadata(u string, files map[string][]byte, vibBase string) *DepotError {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	haveBulletins := false
	for _, n := range names {
		data := files[n]
		switch {
		case strings.HasPrefix(n, "vibs/") && strings.HasSuffix(n, ".xml"):
			v, err := ParseVibXML(data)
			if err != nil {
				return &DepotError{Class: "MetadataFormatError", URL: u, Msg: fmt.Sprintf("Failed to parse VIB metadata %s in %s: %v", n, u, err)}
			}
			var cs xmlChecksumVib
			_ = xml.Unmarshal(data, &cs)
			for _, c := range cs.Checksums {
				if c.Type == "sha-256" {
					d.checksums[v.ID] = strings.TrimSpace(c.Value)
				}
			}
			if v.RelativePath != "" {
				d.vibURL[v.ID] = joinBase(vibBase, v.RelativePath)
			}
			d.Vibs[v.ID] = v
		case strings.HasPrefix(n, "bulletins/") && strings.HasSuffix(n, ".xml"):
			haveBulletins = true
			var xb xmlBulletin
			if err := xml.Unmarshal(data, &xb); err != nil {
				return &DepotError{Class: "MetadataFormatError", URL: u, Msg: fmt.Sprintf("Failed to parse bulletin %s in %s: %v", n, u, err)}
			}
			d.addBulletin(xb)
		case strings.HasPrefix(n, "profiles/"):
			var xp xmlDepotProfile
			if err := xml.Unmarshal(data, &xp); err != nil || xp.Name == "" {
				continue
			}
			if d.profile(xp.Name) == nil {
				d.Profiles = append(d.Profiles, &Profile{Name: xp.Name, Vendor: xp.Creator, Description: xp.Description,
					Acceptance: normAcceptance(xp.Acceptance), Created: xp.Created, Modified: xp.Modified, VibIDs: xp.VibIDs})
			}
		}
	}
	if !haveBulletins {
		if data, ok := files["vmware.xml"]; ok { // legacy flattened form
			var resp struct {
				Bulletins []xmlBulletin `xml:"bulletin"`
			}
			if err := xml.Unmarshal(data, &resp); err == nil {
				for _, xb := range resp.Bulletins {
					for _, lv := range xb.LegacyVibs {
						if _, ok := d.Vibs[lv.VibID]; ok {
							xb.VibIDs = append(xb.VibIDs, lv.VibID)
							continue
						}
						v := &Vib{ID: lv.VibID, Name: lv.Name, Version: lv.Version, Vendor: lv.Vendor, Type: lv.VibType,
							Summary: lv.Summary, MaintenanceModeRequired: xbool(lv.MM1) || xbool(lv.MM2),
							LiveInstallAllowed: !xbool(lv.Reboot), LiveRemoveAllowed: !xbool(lv.Reboot),
							Depends: constraints(lv.Depends), Conflicts: constraints(lv.Confl), Replaces: constraints(lv.Repl),
							Acceptance: "community", Fidelity: "legacy vmware.xml: acceptance level not present (ASSUMED community)"}
						for _, p := range lv.SwPlat {
							v.Platforms = append(v.Platforms, Platform{ProductLineID: p.ProductLineID, Version: p.Version})
						}
						v.normalize()
						d.Vibs[v.ID] = v
						if lv.RelPath != "" {
							d.vibURL[v.ID] = joinBase(vibBase, lv.RelPath)
						}
						if lv.Sum != "" {
							d.checksums[v.ID] = lv.Sum
						}
						xb.VibIDs = append(xb.VibIDs, lv.VibID)
					}
					d.addBulletin(xb)
				}
			}
		}
	}
	return nil
}

func joinBase(base, rel string) string {
	if strings.HasPrefix(base, "bundle:") {
		return strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(rel, "/")
	}
	return resolveRef(base, rel)
}

func (d *Depot) addBulletin(xb xmlBulletin) {
	if xb.ID == "" || d.bulletin(xb.ID) != nil {
		return
	}
	b := &Bulletin{ID: xb.ID, Vendor: xb.Vendor, Summary: xb.Summary, Severity: xb.Severity, Category: xb.Category,
		ReleaseType: xb.ReleaseType, ReleaseDate: xb.ReleaseDate, KbURL: xb.KbURL,
		ComponentName: xb.Component.Name, ComponentVersion: xb.ComponentVersion.Version, VibIDs: xb.VibIDs}
	for _, p := range xb.Platforms {
		b.Platforms = append(b.Platforms, Platform{ProductLineID: p.ProductLineID, Version: p.Version, Locale: p.Locale})
	}
	d.Bulletins = append(d.Bulletins, b)
}

// FetchVib downloads a VIB of the depot (or a bundle member) and checks its sha-256.
func (f *Fetcher) FetchVib(d *Depot, id string) *DepotError {
	loc, ok := d.vibURL[id]
	if !ok {
		return nil // metadata without a location (e.g. installed from a vibUrl): nothing to fetch
	}
	var data []byte
	if strings.HasPrefix(loc, "bundle:") {
		parts := strings.SplitN(strings.TrimPrefix(loc, "bundle:"), "!/", 2)
		files := d.bundles[parts[0]]
		b, ok := files[path.Clean(strings.TrimPrefix(parts[1], "/"))]
		if !ok {
			return &DepotError{Class: "VibDownloadError", URL: loc, Msg: fmt.Sprintf("('%s', '', 'File not found in bundle %s')", parts[1], parts[0])}
		}
		data = b
	} else {
		b, err := f.get(loc)
		if err != nil {
			// ASSUMED wording, modelled on public esxcli output "[VibDownloadError] ('<url>', '', '<error>')"
			return &DepotError{Class: "VibDownloadError", URL: loc, Msg: fmt.Sprintf("('%s', '', '%v')\n url = %s\nPlease refer to the log file for more details.", loc, err, loc)}
		}
		data = b
	}
	if want := d.checksums[id]; want != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, want) {
			return &DepotError{Class: "VibChecksumError", URL: loc, Msg: fmt.Sprintf("Failed to verify checksum for VIB %s: expected %s, got %s", id, want, got)}
		}
	}
	return nil
}

// FetchVibURL downloads a .vib (ar archive) and parses its descriptor.xml.
func (f *Fetcher) FetchVibURL(u string) (*Vib, *DepotError) {
	data, err := f.get(u)
	if err != nil {
		return nil, &DepotError{Class: "VibDownloadError", URL: u, Msg: fmt.Sprintf("('%s', '', '%v')\n url = %s\nPlease refer to the log file for more details.", u, err, u)}
	}
	desc, err := arMember(data, "descriptor.xml")
	if err != nil {
		return nil, &DepotError{Class: "VibFormatError", URL: u, Msg: fmt.Sprintf("Error parsing VIB %s: %v", u, err)}
	}
	v, err := ParseVibXML(desc)
	if err != nil {
		return nil, &DepotError{Class: "VibFormatError", URL: u, Msg: fmt.Sprintf("Error parsing descriptor of VIB %s: %v", u, err)}
	}
	return v, nil
}

// arMember extracts one member of a Unix ar archive (the .vib container format).
func arMember(data []byte, name string) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte("!<arch>\n")) {
		return nil, fmt.Errorf("not an ar archive")
	}
	off := 8
	for off+60 <= len(data) {
		hdr := data[off : off+60]
		mname := strings.TrimRight(strings.TrimSpace(string(hdr[0:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(hdr[48:58])))
		if err != nil {
			return nil, fmt.Errorf("bad ar header")
		}
		off += 60
		if off+size > len(data) {
			return nil, fmt.Errorf("truncated ar member %s", mname)
		}
		if mname == name {
			return data[off : off+size], nil
		}
		off += size
		if size%2 == 1 {
			off++
		}
	}
	return nil, fmt.Errorf("%s not found", name)
}

func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true,
		ResponseHeaderTimeout: timeout}}
}
