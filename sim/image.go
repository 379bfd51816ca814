package main

// Host software image model: VIBs, image profile, and loading from sim/images/*.json or from a real
// installed-image database folder (/var/db/esximg: profiles/<file> + vibs/*.xml).

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type Constraint struct {
	Name     string `json:"name"`
	Relation string `json:"relation,omitempty"`
	Version  string `json:"version,omitempty"`
}

func (c Constraint) String() string {
	if c.Relation == "" {
		return c.Name
	}
	return c.Name + " " + c.Relation + " " + c.Version
}

type Provide struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

type Platform struct {
	ProductLineID string `json:"product_line"`
	Version       string `json:"version"`
	Locale        string `json:"locale,omitempty"`
}

type Vib struct {
	ID                      string       `json:"id,omitempty"`
	Name                    string       `json:"name"`
	Version                 string       `json:"version"`
	Vendor                  string       `json:"vendor"`
	Type                    string       `json:"type,omitempty"`
	Acceptance              string       `json:"acceptance"`
	Summary                 string       `json:"summary,omitempty"`
	Description             string       `json:"description,omitempty"`
	ReleaseDate             string       `json:"release_date,omitempty"`
	Depends                 []Constraint `json:"depends,omitempty"`
	Conflicts               []Constraint `json:"conflicts,omitempty"`
	Replaces                []Constraint `json:"replaces,omitempty"`
	Provides                []Provide    `json:"provides,omitempty"`
	MaintenanceModeRequired bool         `json:"maintenance_mode_required"`
	LiveInstallAllowed      bool         `json:"live_install_allowed"`
	LiveRemoveAllowed       bool         `json:"live_remove_allowed"`
	StatelessReady          bool         `json:"stateless_ready,omitempty"`
	Overlay                 bool         `json:"overlay,omitempty"`
	Platforms               []Platform   `json:"platforms,omitempty"`
	HwPlatforms             []string     `json:"hardware_platforms,omitempty"`
	Tags                    []string     `json:"tags,omitempty"`
	Payloads                []string     `json:"payloads,omitempty"`
	InstallDate             string       `json:"install_date,omitempty"`
	RelativePath            string       `json:"-"`
	SourceURL               string       `json:"-"`
	Fidelity                string       `json:"fidelity,omitempty"`
}

func (v *Vib) normalize() {
	if v.Type == "" {
		v.Type = "bootbank"
	}
	if v.Acceptance == "" {
		v.Acceptance = "community"
	}
	v.Acceptance = normAcceptance(v.Acceptance)
	if v.ID == "" {
		// OBSERVED: VIB id = <vendor>_<type>_<name>_<version> (SOURCES.md)
		v.ID = v.Vendor + "_" + v.Type + "_" + v.Name + "_" + v.Version
	}
}

func (v *Vib) clone() *Vib { c := *v; return &c }

// provides returns everything the VIB provides, including its own name (OBSERVED in esximage
// semantics: a VIB's name+version satisfies depends on that name, e.g. esx-base depends on "vsan >= ...").
func (v *Vib) allProvides() []Provide {
	out := []Provide{{Name: v.Name, Version: v.Version}}
	return append(out, v.Provides...)
}

type Profile struct {
	Name        string   `json:"name"`
	Vendor      string   `json:"vendor"`
	Description string   `json:"description,omitempty"`
	Acceptance  string   `json:"acceptance,omitempty"`
	Created     string   `json:"creation_time,omitempty"`
	Modified    string   `json:"modification_time,omitempty"`
	VibIDs      []string `json:"vibs,omitempty"`
}

// Image is a host's software image (what esxupdate calls the ImageProfile of the host plus host facts).
type Image struct {
	Version     string // "8.0.2"
	Build       string // "22380479"
	Update      string // "2"
	Patch       string // "0"
	PatchLevel  string
	ProductLine string // embeddedEsx
	APIVersion  string
	Profile     Profile
	Vibs        []*Vib // sorted by name
	Modified    bool   // profile name gets the "(Updated) " prefix after a change
}

func (img *Image) clone() *Image {
	c := *img
	c.Vibs = make([]*Vib, len(img.Vibs))
	for i, v := range img.Vibs {
		c.Vibs[i] = v.clone()
	}
	c.Profile.VibIDs = append([]string(nil), img.Profile.VibIDs...)
	return &c
}

func (img *Image) sortVibs() {
	sort.Slice(img.Vibs, func(i, j int) bool { return img.Vibs[i].Name < img.Vibs[j].Name })
}

func (img *Image) byName(name string) *Vib {
	for _, v := range img.Vibs {
		if v.Name == name {
			return v
		}
	}
	return nil
}

func (img *Image) byID(id string) *Vib {
	for _, v := range img.Vibs {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (img *Image) vibIDs() []string {
	out := make([]string, 0, len(img.Vibs))
	for _, v := range img.Vibs {
		out = append(out, v.ID)
	}
	sort.Strings(out)
	return out
}

// ProfileName: OBSERVED (widely published "esxcli software profile get" output, not in our fixtures):
// after installing VIBs on top of a profile the host reports "(Updated) <original profile name>".
func (img *Image) ProfileName() string {
	if img.Modified && !strings.HasPrefix(img.Profile.Name, "(Updated) ") {
		return "(Updated) " + img.Profile.Name
	}
	return img.Profile.Name
}

// ---------------------------------------------------------------- acceptance levels

// OBSERVED: VIB acceptance-level values certified|accepted|partner|community (vib20 schema, SOURCES.md);
// ImageConfigManager levels vmware_certified|vmware_accepted|partner|community (pyvmomi typeinfo);
// esxcli names VMwareCertified/VMwareAccepted/PartnerSupported/CommunitySupported (esxcli-software.xml).
var acceptanceRank = map[string]int{"certified": 4, "accepted": 3, "partner": 2, "community": 1}

func normAcceptance(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "certified", "vmware_certified", "vmwarecertified":
		return "certified"
	case "accepted", "vmware_accepted", "vmwareaccepted":
		return "accepted"
	case "partner", "partnersupported":
		return "partner"
	case "community", "communitysupported":
		return "community"
	}
	return ""
}

func acceptanceAPIName(level string) string {
	switch level {
	case "certified":
		return "vmware_certified"
	case "accepted":
		return "vmware_accepted"
	}
	return level
}

func acceptanceCLIName(level string) string {
	switch level {
	case "certified":
		return "VMwareCertified"
	case "accepted":
		return "VMwareAccepted"
	case "partner":
		return "PartnerSupported"
	case "community":
		return "CommunitySupported"
	}
	return level
}

// acceptanceAllowed: OBSERVED (VMware docs on acceptance levels): a host accepts VIBs at its own level
// or higher (host partner: certified, accepted, partner).
func acceptanceAllowed(hostLevel, vibLevel string) bool {
	return acceptanceRank[vibLevel] >= acceptanceRank[hostLevel]
}

// ---------------------------------------------------------------- JSON image files

type imageFile struct {
	Fidelity        string  `json:"_fidelity"`
	Version         string  `json:"version"`
	Build           string  `json:"build"`
	Update          string  `json:"update"`
	Patch           string  `json:"patch"`
	PatchLevel      string  `json:"patch_level"`
	ProductLine     string  `json:"product_line"`
	APIVersion      string  `json:"api_version"`
	AcceptanceLevel string  `json:"acceptance_level"`
	Profile         Profile `json:"profile"`
	Vibs            []*Vib  `json:"vibs"`
	Esximg          string  `json:"esximg"`
	InstallDate     string  `json:"install_date"`
	FirewallHTTP    *bool   `json:"http_client_enabled"`
}

type loadedImage struct {
	Image       *Image
	Acceptance  string
	InstallDate time.Time
	HTTPClient  *bool
}

var imageCache = map[string]*loadedImage{}

// LoadImage reads an image description. path may be relative to imagesDir; esximg pointers may be
// relative to rootDir (repo root) or absolute.
func LoadImage(path, imagesDir, rootDir string) (*loadedImage, error) {
	if !filepath.IsAbs(path) {
		if _, err := os.Stat(filepath.Join(imagesDir, path)); err == nil {
			path = filepath.Join(imagesDir, path)
		} else {
			path = filepath.Join(rootDir, path)
		}
	}
	if li, ok := imageCache[path]; ok {
		return li, nil
	}
	data, err := ioutil.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f imageFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	img := &Image{
		Version: f.Version, Build: f.Build, Update: f.Update, Patch: f.Patch, PatchLevel: f.PatchLevel,
		ProductLine: f.ProductLine, APIVersion: f.APIVersion, Profile: f.Profile,
	}
	acc := normAcceptance(f.AcceptanceLevel)
	if f.Esximg != "" {
		dir := f.Esximg
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(rootDir, dir)
		}
		prof, vibs, err := ParseEsximg(dir)
		if err != nil {
			return nil, fmt.Errorf("%s: esximg %s: %v", path, dir, err)
		}
		if img.Profile.Name == "" {
			img.Profile = prof
		}
		img.Vibs = vibs
		if acc == "" {
			acc = normAcceptance(prof.Acceptance)
		}
	} else {
		img.Vibs = f.Vibs
	}
	for _, v := range img.Vibs {
		v.normalize()
	}
	if img.ProductLine == "" {
		img.ProductLine = "embeddedEsx"
	}
	if img.Version == "" || img.Build == "" {
		// derive from esx-base "provides esx-version" (OBSERVED in the 6.7.0 esx-base descriptor)
		for _, v := range img.Vibs {
			for _, p := range v.Provides {
				if p.Name == "esx-version" && p.Version != "" {
					ver, rel, _ := splitVR(p.Version)
					if img.Version == "" {
						img.Version = ver
					}
					if img.Build == "" {
						f := strings.Split(rel, ".")
						img.Build = f[len(f)-1]
					}
				}
			}
		}
	}
	if img.Update == "" {
		if f := strings.Split(img.Version, "."); len(f) == 3 {
			img.Update = f[2]
		}
	}
	if img.Patch == "" {
		img.Patch = "0"
	}
	if img.APIVersion == "" {
		img.APIVersion = img.Version
	}
	if len(img.Profile.VibIDs) == 0 {
		for _, v := range img.Vibs {
			img.Profile.VibIDs = append(img.Profile.VibIDs, v.ID)
		}
	}
	if acc == "" {
		acc = "partner"
	}
	img.sortVibs()
	inst := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	if f.InstallDate != "" {
		if t, err := time.Parse(time.RFC3339, f.InstallDate); err == nil {
			inst = t
		}
	}
	li := &loadedImage{Image: img, Acceptance: acc, InstallDate: inst, HTTPClient: f.FirewallHTTP}
	imageCache[path] = li
	return li, nil
}

// ---------------------------------------------------------------- VIB descriptor XML

type xmlConstraint struct {
	Name     string `xml:"name,attr"`
	Relation string `xml:"relation,attr"`
	Version  string `xml:"version,attr"`
}

type xmlPlatform struct {
	Version       string `xml:"version,attr"`
	Locale        string `xml:"locale,attr"`
	ProductLineID string `xml:"productLineID,attr"`
}

type xmlMaintenance struct {
	Install string `xml:"install,attr"`
	Value   string `xml:",chardata"`
}

type xmlVib struct {
	XMLName      xml.Name        `xml:"vib"`
	Type         string          `xml:"type"`
	Name         string          `xml:"name"`
	Version      string          `xml:"version"`
	Vendor       string          `xml:"vendor"`
	Summary      string          `xml:"summary"`
	Description  string          `xml:"description"`
	ReleaseDate  string          `xml:"release-date"`
	Depends      []xmlConstraint `xml:"relationships>depends>constraint"`
	Conflicts    []xmlConstraint `xml:"relationships>conflicts>constraint"`
	Replaces     []xmlConstraint `xml:"relationships>replaces>constraint"`
	Provides     []xmlConstraint `xml:"relationships>provides>provide"`
	Tags         []string        `xml:"software-tags>tag"`
	InstallDate  string          `xml:"installdate"`
	RelativePath string          `xml:"relative-path"`
	Maintenance  xmlMaintenance  `xml:"system-requires>maintenance-mode"`
	Platforms    []xmlPlatform   `xml:"system-requires>softwarePlatform"`
	HwPlatforms  []struct {
		Vendor string `xml:"vendor,attr"`
		Model  string `xml:"model,attr"`
	} `xml:"system-requires>hwplatform"`
	Acceptance     string `xml:"acceptance-level"`
	LiveInstall    string `xml:"live-install-allowed"`
	LiveRemove     string `xml:"live-remove-allowed"`
	StatelessReady string `xml:"stateless-ready"`
	Overlay        string `xml:"overlay"`
	Payloads       []struct {
		Name string `xml:"name,attr"`
	} `xml:"payloads>payload"`
}

func xbool(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }

func constraints(in []xmlConstraint) []Constraint {
	var out []Constraint
	for _, c := range in {
		out = append(out, Constraint{Name: c.Name, Relation: c.Relation, Version: c.Version})
	}
	return out
}

// ParseVibXML parses a VIB descriptor (descriptor.xml, metadata vibs/*.xml or esximg vibs/*.xml).
func ParseVibXML(data []byte) (*Vib, error) {
	var x xmlVib
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, err
	}
	if x.Name == "" || x.Version == "" {
		return nil, fmt.Errorf("not a VIB descriptor")
	}
	v := &Vib{
		Name: x.Name, Version: x.Version, Vendor: x.Vendor, Type: x.Type, Acceptance: x.Acceptance,
		Summary: x.Summary, Description: x.Description, ReleaseDate: x.ReleaseDate,
		Depends: constraints(x.Depends), Conflicts: constraints(x.Conflicts), Replaces: constraints(x.Replaces),
		Tags: x.Tags, InstallDate: x.InstallDate, RelativePath: x.RelativePath,
		LiveInstallAllowed: xbool(x.LiveInstall), LiveRemoveAllowed: xbool(x.LiveRemove),
		StatelessReady: xbool(x.StatelessReady), Overlay: xbool(x.Overlay),
	}
	// OBSERVED: <maintenance-mode>true</maintenance-mode>; some VIBs use install/remove attributes.
	v.MaintenanceModeRequired = xbool(x.Maintenance.Value)
	if x.Maintenance.Install != "" {
		v.MaintenanceModeRequired = xbool(x.Maintenance.Install)
	}
	for _, p := range x.Provides {
		v.Provides = append(v.Provides, Provide{Name: p.Name, Version: p.Version})
	}
	for _, p := range x.Platforms {
		v.Platforms = append(v.Platforms, Platform{ProductLineID: p.ProductLineID, Version: p.Version, Locale: p.Locale})
	}
	for _, h := range x.HwPlatforms {
		v.HwPlatforms = append(v.HwPlatforms, strings.TrimSpace(h.Vendor+" "+h.Model))
	}
	for _, p := range x.Payloads {
		v.Payloads = append(v.Payloads, p.Name)
	}
	v.normalize()
	return v, nil
}

// ---------------------------------------------------------------- esximg (installed image DB)

type xmlProfile struct {
	Name        string   `xml:"name"`
	Creator     string   `xml:"creator"`
	Created     string   `xml:"creationtime"`
	Modified    string   `xml:"modifiedtime"`
	Description string   `xml:"description"`
	VibIDs      []string `xml:"viblist>vib>vib-id"`
	Acceptance  string   `xml:"acceptancelevel"`
}

// ParseEsximg reads /var/db/esximg: the single profile in profiles/ and every vibs/*.xml
// (the .xml.orig / .xml.sig companions are ignored). OBSERVED: layout of the ESXi 6.7.0 GA dump.
func ParseEsximg(dir string) (Profile, []*Vib, error) {
	var prof Profile
	pfiles, _ := ioutil.ReadDir(filepath.Join(dir, "profiles"))
	for _, fi := range pfiles {
		if fi.IsDir() {
			continue
		}
		data, err := ioutil.ReadFile(filepath.Join(dir, "profiles", fi.Name()))
		if err != nil {
			return prof, nil, err
		}
		var xp xmlProfile
		if err := xml.Unmarshal(data, &xp); err != nil {
			return prof, nil, fmt.Errorf("profile %s: %v", fi.Name(), err)
		}
		prof = Profile{Name: xp.Name, Vendor: xp.Creator, Description: xp.Description, Acceptance: xp.Acceptance,
			Created: xp.Created, Modified: xp.Modified, VibIDs: xp.VibIDs}
		break
	}
	files, err := filepath.Glob(filepath.Join(dir, "vibs", "*.xml"))
	if err != nil {
		return prof, nil, err
	}
	var vibs []*Vib
	for _, f := range files {
		data, err := ioutil.ReadFile(f)
		if err != nil {
			return prof, nil, err
		}
		v, err := ParseVibXML(data)
		if err != nil {
			return prof, nil, fmt.Errorf("%s: %v", f, err)
		}
		vibs = append(vibs, v)
	}
	if len(vibs) == 0 {
		return prof, nil, fmt.Errorf("no vibs/*.xml in %s", dir)
	}
	return prof, vibs, nil
}
