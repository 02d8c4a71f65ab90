package lab_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

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
	labtest.Netns(t, s, ns, false)
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

// A dead run's journal names what it made. If that went (removed by hand,
// say) and someone made another of the same name (a running lab, or a user
// by hand), cleanup must leave the new one alone.
func TestCleanupLeavesWhatWasMadeAgainUnderADeadRunsNames(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	byHand, byLab := labtest.Name("rh"), labtest.Name("rl")
	br := labtest.Name("rb")
	dead, err := lab.NewSession(lab.Options{RunDir: dir})
	must(t, err)
	for _, ns := range []string{byHand, byLab} {
		_, err := dead.AddNetns(ns)
		must(t, err)
		must(t, dead.AddBridge("br0", ns))
	}
	must(t, dead.AddBridge(br, "host"))
	dead.Abandon() // as kill -9 or --keep leave it

	// The user removes the dead run's things by hand, and makes their own
	// of the same names.
	for _, ns := range []string{byHand, byLab} {
		labtest.IP(t, "netns", "del", "nslab-"+ns)
	}
	labtest.IP(t, "link", "del", "nslab-"+br)
	labtest.ForeignNetns(t, "nslab-"+byHand)
	labtest.IP(t, "-n", "nslab-"+byHand, "link", "add", "br0", "type", "bridge")
	labtest.ForeignLink(t, "nslab-"+br, "type", "bridge")
	// And a lab that is running makes the other namespace again.
	live, err := lab.NewSession(lab.Options{RunDir: dir})
	must(t, err)
	defer live.Close()
	_, err = live.AddNetns(byLab)
	must(t, err)
	must(t, live.AddBridge("br0", byLab))

	rep, err := lab.Cleanup(dir)
	must(t, err)
	if len(rep.Removed) > 0 || len(rep.Failed) > 0 {
		t.Errorf("cleanup removed (or tried to) what is not the dead run's: removed %v, failed %v", rep.Removed, rep.Failed)
	}
	stillShown(t, "cleanup", []string{"-n", "nslab-" + byHand, "link", "show", "br0"},
		[]string{"-n", "nslab-" + byLab, "link", "show", "br0"}, []string{"link", "show", "nslab-" + br})
	if len(rep.Gone) != 5 {
		t.Errorf("cleanup reports %d entries as not the dead run's, want 5: %v", len(rep.Gone), rep.Gone)
	}
	// The journal is done with; the hand-made ones are now reported as not
	// the lab's, and the running lab's as its own.
	rep, err = lab.Cleanup(dir)
	must(t, err)
	foreign := strings.Join(rep.Foreign, ",")
	if !strings.Contains(foreign, "netns nslab-"+byHand) || !strings.Contains(foreign, "link nslab-"+br) || strings.Contains(foreign, byLab) {
		t.Errorf("second cleanup: not the lab's = %v, want nslab-%s and nslab-%s, and not the running lab's nslab-%s", rep.Foreign, byHand, br, byLab)
	}
	must(t, live.Close())
}

// A session must not change or remove a namespace of its own name that was
// deleted and made again outside it, nor links in a namespace it deleted.
func TestASessionLeavesWhatWasMadeAgainUnderItsNames(t *testing.T) {
	s := labtest.New(t)
	remade, deleted := labtest.Name("sr"), labtest.Name("sd")
	for _, ns := range []string{remade, deleted} {
		labtest.Netns(t, s, ns, false)
		must(t, s.AddBridge("br0", ns))
	}
	br := labtest.Name("sb")
	must(t, s.AddBridge(br, "host"))
	must(t, s.DelNetns(deleted))

	labtest.IP(t, "netns", "del", "nslab-"+remade)
	labtest.IP(t, "link", "del", "nslab-"+br)
	for _, ns := range []string{remade, deleted} {
		labtest.ForeignNetns(t, "nslab-"+ns)
		labtest.IP(t, "-n", "nslab-"+ns, "link", "add", "br0", "type", "bridge")
	}
	labtest.ForeignLink(t, "nslab-"+br, "type", "bridge")

	if err := s.SetLinkUp("br0", remade, true); !errors.Is(err, lab.ErrNotOwned) {
		t.Errorf("SetLinkUp in a namespace made again outside the lab: %v, want ErrNotOwned", err)
	}
	if err := s.SetLinkUp(br, "host", true); !errors.Is(err, lab.ErrNotOwned) {
		t.Errorf("SetLinkUp of a host link made again outside the lab: %v, want ErrNotOwned", err)
	}
	if err := s.AddBridge("br1", deleted); !errors.Is(err, lab.ErrNotOwned) {
		t.Errorf("AddBridge in a namespace the lab deleted and a user made again: %v, want ErrNotOwned", err)
	}
	must(t, s.Close())
	stillShown(t, "Close", []string{"-n", "nslab-" + remade, "link", "show", "br0"},
		[]string{"-n", "nslab-" + deleted, "link", "show", "br0"}, []string{"link", "show", "nslab-" + br})
	if l, err := netlink.LinkByName("nslab-" + br); err == nil && l.Attrs().Flags&1 != 0 {
		t.Errorf("the session brought up a host link it did not make")
	}
}

// A second Close (a second Ctrl-C, which then exits) must not return while
// the first is still removing things.
func TestASecondCloseWaitsForTheFirst(t *testing.T) {
	s := labtest.New(t)
	for range 20 {
		ns, err := s.AddNetns(labtest.Name("cw"))
		must(t, err)
		ns.Close()
	}
	owned := s.Owned()
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- s.Close() }()
	}
	must(t, <-done)
	if left := lab.StillThere(owned); len(left) > 0 {
		t.Errorf("a Close returned with %d resources still there: %v", len(left), left)
	}
	must(t, <-done)
}

// stillShown fails the test for each `ip ARGS` that fails after what (a
// cleanup, a Close): it removed something it did not make.
func stillShown(t *testing.T, what string, ipArgs ...[]string) {
	t.Helper()
	for _, args := range ipArgs {
		if !labtest.IPOK(args...) {
			t.Errorf("after %s, `ip %s` fails: it removed what it did not make", what, strings.Join(args, " "))
		}
	}
}
