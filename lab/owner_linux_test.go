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
