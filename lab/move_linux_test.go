package lab_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

func hasLink(t *testing.T, s *lab.Session, ns, name string) bool {
	t.Helper()
	links, err := s.Links(ns)
	must(t, err)
	for _, l := range links {
		if l.Name == name {
			return true
		}
	}
	return false
}

func TestMoveLinkRenamesAcrossTheHostBoundary(t *testing.T) {
	s := labtest.New(t)
	a := labtest.Name("m")
	_, err := s.AddNetns(a)
	must(t, err)
	tag := labtest.Name("")
	host, peer := "mv"+tag, "mp"+tag
	must(t, s.AddVeth(host, "host", peer, "host"))
	if !labtest.IPOK("link", "show", "nslab-"+host) {
		t.Fatalf("host-side veth is not named nslab-%s on the system", host)
	}

	// Into a lab namespace: the prefix goes, the learner's name stays.
	to, err := s.NetnsOf(a)
	must(t, err)
	defer to.Close()
	must(t, s.MoveLink(host, "host", to, a))
	if !hasLink(t, s, a, host) || hasLink(t, s, "host", host) {
		t.Fatalf("after the move, %s is not (only) in %s", host, a)
	}
	if out := labtest.IP(t, "-n", "nslab-"+a, "-br", "link"); !strings.Contains(out, host+"@") {
		t.Errorf("ip -n nslab-%s link does not show %s:\n%s", a, host, out)
	}
	must(t, s.SetLinkUp(host, a, true))

	// Back to the host: the prefix comes back (it could clash with the
	// machine's own names otherwise).
	hostNS, err := s.NetnsOf("host")
	must(t, err)
	defer hostNS.Close()
	must(t, s.MoveLink(host, a, hostNS, "host"))
	if !labtest.IPOK("link", "show", "nslab-"+host) {
		t.Fatalf("moved back, nslab-%s is not on the host", host)
	}

	// Into a spawned child's namespace, by the child's name.
	child := labtest.Name("c")
	_, err = s.Spawn(lab.SpawnOptions{Name: child, Namespaces: []string{"net"}})
	must(t, err)
	cns, err := s.NetnsOf(child)
	must(t, err)
	must(t, s.MoveLink(peer, "host", cns, child))
	cns.Close()
	if !hasLink(t, s, child, peer) {
		t.Fatalf("%s did not arrive in the child's namespace", peer)
	}
	// Killing the child destroys its namespace, and the veth with it: the
	// host end vanishes too.
	must(t, s.Kill(child))
	if !labtest.Eventually(5*time.Second, func() bool { return !labtest.IPOK("link", "show", "nslab-"+host) }) {
		t.Error("the host end of a veth outlived the namespace of its peer")
	}
}
