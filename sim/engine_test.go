package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.14-1vmw.803.0.0.75399077", "1.12-2vmw.802.0.0.67561870", 1},
		{"1.12-2vmw.802.0.0.67561870", "1.12-1vmw.801.0.0.64098092", 1},
		{"6.7.0-0.0.8169922", "6.7.0-0.0.8169922", 0},
		{"6.0.0-0.0.3", "1.0.0-0.0.0", 1},
		{"10.0-1", "9.0-1", 1},
		{"1.0-10vmw", "1.0-9vmw", 1},
		{"7.0.3-0.95.21930508", "7.0.3-0.100.22348816", -1},
		{"8.0.2-0.0.22380479", "8.0.2", 1},
		// esximage (facts, "Versions")
		{"1.0", "1.0-1", -1}, {"2abc10", "2abc9", -1}, {"1-a10", "1-a9", -1}, {"8.0", "8.0.0", -1},
		{"abc", "0", -1}, {"1.01", "1.1", 0}, {"8.045a-napi", "8.045-napi", 1},
	}
	for _, c := range cases {
		if got := CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q,%q)=%d want %d", c.a, c.b, got, c.want)
		}
		if got := CompareVersions(c.b, c.a); got != -c.want {
			t.Errorf("CompareVersions(%q,%q)=%d want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestConstraintMatches(t *testing.T) {
	have := "6.7.0-0.0.8169922"
	if !constraintMatches(">=", "6.7.0-0.0", have) || !constraintMatches("<<", "6.7.0-0.1", have) {
		t.Error("esx-base vsan constraints of 6.7.0 GA must match vsan 6.7.0-0.0.8169922")
	}
	if constraintMatches("<<", "6.7.0-0.0", have) || constraintMatches(">>", "6.7.0-0.1", have) {
		t.Error("unexpected match")
	}
	if !constraintMatches("=", "6.7.0", have) || !constraintMatches(">=", "5.0.0", "8.0.2-0.0.22380479") {
		t.Error("version-only constraint compares the version part")
	}
	if !constraintMatches("", "", "") || constraintMatches(">=", "1.0", "") {
		t.Error("unversioned handling")
	}
}

func TestPlatformVersionMatches(t *testing.T) {
	yes := [][2]string{{"8.0", "8.0.2"}, {"8.0.0", "8.0.0"}, {"6.*", "6.7.0"}, {"5.*", "5.5.0"}, {"7.0", "7.0.3"}, {"", "8.0.2"}, {"7.0.0", "7.0.3"}, {"8.0.0", "8.0.2"}}
	no := [][2]string{{"8.0", "6.7.0"}, {"7.0.2", "7.0.3"}, {"8.0.0", "8.1.0"}, {"5.*", "8.0.2"}, {"9.0", "8.0.2"}, {"6.7.0", "6.5.0"}}
	for _, c := range yes {
		if !platformVersionMatches(c[0], c[1]) {
			t.Errorf("%q should match %q", c[0], c[1])
		}
	}
	for _, c := range no {
		if platformVersionMatches(c[0], c[1]) {
			t.Errorf("%q should not match %q", c[0], c[1])
		}
	}
}

func repoRoot(t *testing.T) string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}

func loadTestImage(t *testing.T, name string) *Image {
	root := repoRoot(t)
	li, err := LoadImage(name, filepath.Join(root, "sim", "images"), root)
	if err != nil {
		t.Fatal(err)
	}
	return li.Image.clone()
}

func TestImagesLoadAndAreConsistent(t *testing.T) {
	for _, n := range []string{"esxi-6.7.0-ga.json", "esxi-7.0u3.json", "esxi-8.0u2.json"} {
		img := loadTestImage(t, n)
		if err := checkImage(img, false); err != nil {
			t.Errorf("%s: installed image must satisfy its own dependencies: %v", n, err)
		}
		if img.byName("esx-base") == nil {
			t.Errorf("%s: no esx-base", n)
		}
	}
	img := loadTestImage(t, "esxi-6.7.0-ga.json")
	if len(img.Vibs) != 136 || img.Build != "8169922" || img.Profile.Name != "ESXi-6.7.0-8169922-standard" {
		t.Errorf("6.7.0 GA: %d vibs build %s profile %s", len(img.Vibs), img.Build, img.Profile.Name)
	}
}

func localFetcher() *Fetcher {
	return &Fetcher{Client: newHTTPClient(5 * time.Second), Local: func(p string) (string, bool) { return p, true }}
}

// Every real bundle in tests/fixtures/real parses into at least one bulletin whose VIBs are known.
func TestParseAllRealBundles(t *testing.T) {
	root := repoRoot(t)
	var zips []string
	_ = filepath.Walk(filepath.Join(root, "tests", "fixtures", "real"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".zip") {
			zips = append(zips, p)
		}
		return nil
	})
	if len(zips) < 20 {
		t.Fatalf("expected the real bundles, found %d", len(zips))
	}
	f := localFetcher()
	for _, z := range zips {
		if strings.Contains(z, "ESXi650-VMKUSB-NIC-FLING-39176435-16775917.zip") {
			continue // a zip wrapping the real bundle zip (the harness unwraps it)
		}
		d, errs := f.LoadDepots([]string{z})
		if len(errs) > 0 {
			t.Errorf("%s: %v", z, errs[0])
			continue
		}
		if len(d.Bulletins) == 0 {
			t.Errorf("%s: no bulletins", z)
		}
		for _, b := range d.Bulletins {
			for _, id := range b.VibIDs {
				if d.Vibs[id] == nil {
					t.Errorf("%s: bulletin %s lists unknown VIB %s", z, b.ID, id)
				} else if err := f.FetchVib(d, id); err != nil {
					t.Errorf("%s: VIB %s: %v", z, id, err)
				}
			}
		}
	}
}

func TestVibDescriptorFromRealVib(t *testing.T) {
	root := repoRoot(t)
	v, err := localFetcher().FetchVibURL(filepath.Join(root, "tests/fixtures/real/lamw__ghettoVCB/2020-12-29_37290df1/vghetto-ghettoVCB.vib"))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "virtuallyGhetto_bootbank_ghettoVCB_1.0.0-0.0.0" || v.Acceptance != "community" || !v.LiveInstallAllowed {
		t.Errorf("unexpected %+v", v)
	}
}

func vibT(name, ver string, mut func(v *Vib)) *Vib {
	v := &Vib{Name: name, Version: ver, Vendor: "TST", Acceptance: "certified", LiveInstallAllowed: true, LiveRemoveAllowed: true}
	if mut != nil {
		mut(v)
	}
	v.normalize()
	return v
}

func TestPlanInstallRules(t *testing.T) {
	base := loadTestImage(t, "esxi-8.0u2.json")
	// live install of a VIB requiring maintenance mode stops (esxcli help)
	live := vibT("tool", "1.0-1", func(v *Vib) { v.MaintenanceModeRequired = true })
	if _, err := PlanInstall(base, "partner", []*Vib{live}, InstallOpts{Mode: "install"}); err == nil || err.Class != "MaintenanceModeError" {
		t.Errorf("want MaintenanceModeError, got %v", err)
	}
	if p, err := PlanInstall(base, "partner", []*Vib{live}, InstallOpts{Mode: "install", MaintenanceOK: true}); err != nil || !p.Live || p.NeedReboot {
		t.Errorf("live install with --maintenance-mode: %v %+v", err, p)
	}
	if p, err := PlanInstall(base, "partner", []*Vib{live}, InstallOpts{Mode: "install", NoLiveInstall: true}); err != nil || !p.NeedReboot {
		t.Errorf("--no-live-install makes it a reboot install: %v", err)
	}
	// conflicts with an installed VIB
	c := vibT("newdrv", "1.0-1", func(v *Vib) { v.Conflicts = []Constraint{{Name: "ntg3"}} })
	if _, err := PlanInstall(base, "partner", []*Vib{c}, InstallOpts{Mode: "install", MaintenanceOK: true}); err == nil || !strings.Contains(err.Msg, "VIBs (TST_bootbank_newdrv_1.0-1, VMW_bootbank_ntg3_4.1.10.0-4vmw.802.0.0.22380479) are conflicting with each other") {
		t.Errorf("want conflict, got %v", err)
	}
	// replaces removes the old VIB
	r := vibT("ntg3-ng", "2.0-1", func(v *Vib) { v.Replaces = []Constraint{{Name: "ntg3"}} })
	p, err := PlanInstall(base, "partner", []*Vib{r}, InstallOpts{Mode: "install", MaintenanceOK: true})
	if err != nil || len(p.Removed) != 1 || p.Removed[0].Name != "ntg3" {
		t.Errorf("replaces: %v %+v", err, p)
	}
	// acceptance
	comm := vibT("x", "1.0-1", func(v *Vib) { v.Acceptance = "community" })
	if _, err := PlanInstall(base, "partner", []*Vib{comm}, InstallOpts{Mode: "install"}); err == nil || err.Class != "AcceptanceConfigError" {
		t.Errorf("want AcceptanceConfigError, got %v", err)
	}
	if _, err := PlanInstall(base, "community", []*Vib{comm}, InstallOpts{Mode: "install"}); err != nil {
		t.Errorf("community host accepts community VIBs: %v", err)
	}
	// removing vsan breaks esx-base's dependency
	if _, err := PlanRemove(base, []string{"vsan"}, InstallOpts{MaintenanceOK: true}); err == nil || err.Class != "DependencyError" {
		t.Errorf("want DependencyError, got %v", err)
	}
	// update mode does not add new VIBs; downgrades are skipped except for install
	old := vibT("esx-ui", "1.0.0-1", nil)
	if p, _ := PlanInstall(base, "partner", []*Vib{old, live}, InstallOpts{Mode: "update", MaintenanceOK: true}); p.Changed() || len(p.Skipped) != 2 {
		t.Errorf("update: %+v", p)
	}
	if p, _ := PlanInstall(base, "partner", []*Vib{old}, InstallOpts{Mode: "install"}); len(p.Installed) != 1 {
		t.Errorf("install may downgrade: %+v", p)
	}
}

func TestScanReasons(t *testing.T) {
	base := loadTestImage(t, "esxi-8.0u2.json")
	d := newDepot()
	add := func(bid string, v *Vib) {
		d.Vibs[v.ID] = v
		d.Bulletins = append(d.Bulletins, &Bulletin{ID: bid, VibIDs: []string{v.ID}})
	}
	add("needs-lib", vibT("a", "1.0-1", func(v *Vib) { v.Depends = []Constraint{{Name: "libnothere"}} }))
	add("needs-patch", vibT("b", "1.0-1", func(v *Vib) { v.Depends = []Constraint{{Name: "c"}} }))
	add("provider", vibT("c", "1.0-1", nil))
	add("old-ui", vibT("esx-ui", "1.0.0-1", nil))
	add("conflict", vibT("d", "1.0-1", func(v *Vib) { v.Conflicts = []Constraint{{Name: "vmkusb"}} }))
	add("breaks-ui", vibT("esx-version-breaker", "1.0-1", func(v *Vib) { v.Replaces = []Constraint{{Name: "esx-base"}} }))
	got := map[string][]string{}
	for _, st := range Scan(base, nil, false, d) {
		got[st.B.ID] = st.Reasons
	}
	want := map[string]string{"needs-lib": "missingLib", "needs-patch": "missingPatch", "provider": "",
		"old-ui": "obsoleted", "conflict": "conflictLib", "breaks-ui": "hasDependentPatch"}
	for id, w := range want {
		if strings.Join(got[id], ",") != w && !(w != "" && strings.Contains(strings.Join(got[id], ","), w)) {
			t.Errorf("%s: reasons %v, want %q", id, got[id], w)
		}
	}
}
