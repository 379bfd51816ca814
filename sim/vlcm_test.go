package main

import (
	"testing"
)

func TestVlcmDisplayVersion(t *testing.T) {
	cases := map[string]string{
		"8.0.3-0.0.24022510":  "8.0 U3 - 24022510",
		"8.0.0-1.20.21495797": "8.0 - 21495797",
		"7.0.3-0.95.21930508": "7.0 U3 - 21930508",
		"garbage":             "garbage",
	}
	for in, want := range cases {
		if got := displayVersion(in); got != want {
			t.Errorf("displayVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVlcmValidateNamesWhatNoDepotHolds(t *testing.T) {
	s := &vlcmState{clusters: map[string]*vlcmCluster{}, online: map[string]*vlcmOnline{}, offline: map[string]*vlcmOffline{}}
	d := newDepot()
	d.Bulletins = []*Bulletin{{ID: "ESXi_8.0.3-0.0.24022510", ComponentName: "ESXi", ComponentVersion: "8.0.3-0.0.24022510", VibIDs: []string{"a"}},
		{ID: "fling", ComponentName: "fling", ComponentVersion: "1.0", VibIDs: []string{"b"}}}
	s.offline["1"] = &vlcmOffline{ID: "1", depot: d}
	ok := &vlcmImage{BaseImage: "8.0.3-0.0.24022510", Components: map[string]string{"fling": "1.0"}}
	if p := s.validate(ok); len(p) != 0 {
		t.Fatalf("valid image refused: %v", p)
	}
	bad := &vlcmImage{BaseImage: "9.9.9-0.0.1", Components: map[string]string{"fling": "2.0"}, AddOn: &vlcmAddOn{Name: "DEL", Version: "1"}}
	p := s.validate(bad)
	if len(p) != 3 {
		t.Fatalf("want 3 problems, got %v", p)
	}
	for i, want := range []string{"Base image version 9.9.9-0.0.1", "Add-on DEL version 1", "Component fling version 2.0"} {
		if len(p[i]) < len(want) || p[i][:len(want)] != want {
			t.Errorf("problem %d = %q, want prefix %q", i, p[i], want)
		}
	}
}

func TestVlcmPolicyRetries(t *testing.T) {
	c := &vlcmCluster{Policy: defaultPolicy()}
	if n, _ := c.retries(); n != 0 {
		t.Fatalf("default policy retries %d times", n)
	}
	c.Policy["failure_action"] = map[string]interface{}{"action": "RETRY", "retry_count": float64(2), "retry_delay": float64(0)}
	if n, _ := c.retries(); n != 2 {
		t.Fatalf("RETRY 2 gives %d", n)
	}
}
