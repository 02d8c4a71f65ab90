package lab_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// Two labs running at once (two terminals, or two learners on one
// machine) pick the same names. The second must refuse, say whose the name
// is, and change nothing of the first's.
func TestASecondLabChangesNothingOfARunningOne(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	first, err := lab.NewSession(lab.Options{RunDir: dir})
	must(t, err)
	defer first.Close()
	second, err := lab.NewSession(lab.Options{RunDir: dir})
	must(t, err)
	defer second.Close()

	ns := labtest.Name("own")
	br := labtest.Name("ob")
	_, err = first.AddNetns(ns)
	must(t, err)
	must(t, first.AddBridge(br, "host"))

	refused := func(what string, err error, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
			return
		}
		if !strings.Contains(err.Error(), "another lab that is running") {
			t.Errorf("%s: %q does not say another running lab owns it", what, err)
		}
	}
	_, err = second.AddNetns(ns)
	refused("AddNetns", err, lab.ErrExists)
	refused("SetLinkUp lo", second.SetLinkUp("lo", ns, true), lab.ErrNotOwned)
	refused("AddAddr", second.AddAddr("10.99.0.1/24", "lo", ns), lab.ErrNotOwned)
	refused("AddRoute", second.AddRoute("10.98.0.0/24", "", "lo", ns), lab.ErrNotOwned)
	refused("AddBridge inside", second.AddBridge("br9", ns), lab.ErrNotOwned)
	refused("AddBridge on the host", second.AddBridge(br, "host"), lab.ErrExists)
	refused("SetLinkUp host bridge", second.SetLinkUp(br, "host", true), lab.ErrNotOwned)
	if err := second.DelNetns(ns); !errors.Is(err, lab.ErrNotOwned) {
		t.Errorf("DelNetns: %v, want ErrNotOwned", err)
	}

	links, err := first.Links(ns)
	must(t, err)
	for _, l := range links {
		if l.Name == "lo" && (l.Up || len(l.Addrs) > 0) {
			t.Errorf("the second lab changed the first's lo: %+v", l)
		}
		if l.Name == "br9" {
			t.Errorf("the second lab added br9 in the first's namespace")
		}
	}
	host, err := first.Links("host")
	must(t, err)
	for _, l := range host {
		if l.Name == br && l.Up {
			t.Errorf("the second lab brought the first's bridge up")
		}
	}
	must(t, second.Close())
	must(t, first.Close())
}

// The journal records no routes: a route in the host namespace must leave
// through one of the lab's own links (the kernel removes it with the link),
// never through the machine's, where it would outlive the lab.
func TestHostRoutesGoOnlyThroughTheLabsOwnLinks(t *testing.T) {
	s := labtest.New(t)
	tag := labtest.Name("")
	own := "usr" + tag // the machine's link, not the lab's
	labtest.ForeignLink(t, own, "type", "veth", "peer", "name", own+"p")
	labtest.IP(t, "addr", "add", "198.18.200.1/24", "dev", own)
	labtest.IP(t, "link", "set", own, "up")

	for _, tt := range []struct{ name, dst, via, dev string }{
		{"a gateway on the machine's own link", "198.18.201.0/24", "198.18.200.2", ""},
		{"the machine's own link by name", "198.18.201.0/24", "198.18.200.2", own},
		{"a default route via the machine's link", "default", "198.18.200.2", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.AddRoute(tt.dst, tt.via, tt.dev, "host")
			if tt.dev != "" {
				// host link names map to nslab-NAME: not found, never the machine's
				if !errors.Is(err, lab.ErrNotFound) {
					t.Errorf("route via dev %s: %v, want ErrNotFound", tt.dev, err)
				}
			} else if !errors.Is(err, lab.ErrNotOwned) {
				t.Errorf("route %s via %s on the host: %v, want ErrNotOwned", tt.dst, tt.via, err)
			}
		})
	}
	if out := labtest.IP(t, "route", "show", "198.18.201.0/24"); len(out) > 0 {
		t.Errorf("the lab changed the host's routes: %s", out)
	}

	// Through its own link, it may; Close removes the link and the route.
	ns := labtest.Name("hr")
	_, err := s.AddNetns(ns)
	must(t, err)
	h := "h" + tag
	must(t, s.AddVeth(h, "host", "eth0", ns))
	must(t, s.AddAddr("198.18.202.1/24", h, "host"))
	must(t, s.SetLinkUp(h, "host", true))
	must(t, s.AddRoute("198.18.203.0/24", "198.18.202.2", "", "host"))
	must(t, s.AddRoute("198.18.204.0/24", "198.18.202.2", h, "host"))
	if out := labtest.IP(t, "route", "show", "198.18.203.0/24"); !strings.Contains(out, "nslab-"+h) {
		t.Fatalf("route through the lab's link: ip route shows %q", out)
	}
	must(t, s.Close())
	for _, dst := range []string{"198.18.203.0/24", "198.18.204.0/24"} {
		if out := labtest.IP(t, "route", "show", dst); len(out) > 0 {
			t.Errorf("a host route through the lab's link outlived the lab: %s", out)
		}
	}
}
