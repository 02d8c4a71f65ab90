package lab_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustPing(t *testing.T, s *lab.Session, from, to string) {
	t.Helper()
	r, err := s.Ping(from, to, lab.PingOptions{Count: 2})
	if err != nil {
		t.Fatalf("ping %s from %s: %v", to, from, err)
	}
	if r.Received != 2 {
		t.Fatalf("ping %s from %s: %s", to, from, r)
	}
}

func TestVethPairBetweenTwoNamespacesPings(t *testing.T) {
	s := labtest.New(t)
	a, b := labtest.Name("a"), labtest.Name("b")
	nsA, err := s.AddNetns(a)
	must(t, err)
	defer nsA.Close()
	_, err = s.AddNetns(b)
	must(t, err)

	// ip netns shows them under their system names.
	if out := labtest.IP(t, "netns", "list"); !strings.Contains(out, "nslab-"+a) {
		t.Fatalf("ip netns list does not show nslab-%s:\n%s", a, out)
	}

	must(t, s.AddVeth("va", a, "vb", b))
	must(t, s.AddAddr("10.0.0.1/24", "va", a))
	must(t, s.AddAddr("10.0.0.2/24", "vb", b))
	must(t, s.SetLinkUp("va", a, true))
	must(t, s.SetLinkUp("vb", b, true))

	mustPing(t, s, a, "10.0.0.2")
	mustPing(t, s, b, "10.0.0.1")

	// Unreachable is a result, not an error.
	r, err := s.Ping(a, "10.0.9.9", lab.PingOptions{Count: 1})
	must(t, err)
	if r.OK() {
		t.Errorf("ping of an address nobody has succeeded: %s", r)
	}

	// The links are where they should be, and ip sees them from outside.
	links, err := s.Links(a)
	must(t, err)
	names := []string{}
	for _, l := range links {
		names = append(names, l.Name)
	}
	if !slices.Contains(names, "va") || slices.Contains(names, "vb") {
		t.Errorf("links in %s = %v, want va and not vb", a, names)
	}
	if out := labtest.IP(t, "-n", "nslab-"+b, "-br", "addr"); !strings.Contains(out, "10.0.0.2/24") {
		t.Errorf("ip -n nslab-%s addr does not show 10.0.0.2/24:\n%s", b, out)
	}
}

func TestBridgeJoinsThreeNamespaces(t *testing.T) {
	s := labtest.New(t)
	br := labtest.Name("b")
	must(t, s.AddBridge(br, "host"))
	must(t, s.SetLinkUp(br, "host", true))
	var nss []string
	for i := 1; i <= 3; i++ {
		ns := labtest.Name("c")
		nss = append(nss, ns)
		labtest.Netns(t, s, ns, false)
		host := fmt.Sprintf("%sh%d", br[len(br)-4:], i) // host-side end, e.g. 1a2bh1
		must(t, s.AddVeth("eth0", ns, host, "host"))
		must(t, s.SetMaster(host, br, "host"))
		must(t, s.SetLinkUp(host, "host", true))
		must(t, s.AddAddr(fmt.Sprintf("172.31.%d.%d/24", 200, i), "eth0", ns))
		must(t, s.SetLinkUp("eth0", ns, true))
	}
	for i, from := range nss {
		for j := range nss {
			if i != j {
				mustPing(t, s, from, fmt.Sprintf("172.31.200.%d", j+1))
			}
		}
	}
	// A bridge's member must be in its namespace: an unknown master is an
	// error that names it.
	err := s.SetMaster("lo", "nosuchbr", nss[0])
	if !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("set master to a missing bridge: %v, want ErrNotFound", err)
	}
}

func TestDefaultRouteAndIPv6(t *testing.T) {
	s := labtest.New(t)
	a, b := labtest.Name("r"), labtest.Name("r")
	for _, ns := range []string{a, b} {
		labtest.Netns(t, s, ns, false)
	}
	must(t, s.AddVeth("eth0", a, "eth0", b))
	must(t, s.AddAddr("10.1.0.2/24", "eth0", a))
	must(t, s.AddAddr("10.1.0.1/24", "eth0", b))
	must(t, s.AddAddr("192.168.77.1/32", "lo", b)) // reachable only by route
	must(t, s.AddAddr("fd00:1::2/64", "eth0", a))
	must(t, s.AddAddr("fd00:1::1/64", "eth0", b))
	for _, ns := range []string{a, b} {
		must(t, s.SetLinkUp("eth0", ns, true))
		must(t, s.SetLinkUp("lo", ns, true))
	}
	if r, _ := s.Ping(a, "192.168.77.1", lab.PingOptions{Count: 1}); r.OK() {
		t.Fatal("an address behind the peer answered before any route existed")
	}
	must(t, s.AddRoute("default", "10.1.0.1", "", a))
	mustPing(t, s, a, "192.168.77.1")
	mustPing(t, s, a, "fd00:1::1")

	routes, err := s.Routes(a)
	must(t, err)
	found := false
	for _, r := range routes {
		if r.Dst == "default" && r.Via == "10.1.0.1" && r.Dev == "eth0" {
			found = true
		}
	}
	if !found {
		t.Errorf("routes in %s = %+v, want default via 10.1.0.1 dev eth0", a, routes)
	}
	// A gateway on no connected network says what to do.
	err = s.AddRoute("10.9.0.0/16", "10.200.0.1", "", a)
	if err == nil || !strings.Contains(err.Error(), "not on any connected network") {
		t.Errorf("route via an unreachable gateway: %v", err)
	}
}

func TestBadInputLeavesNothingHalfMade(t *testing.T) {
	s := labtest.New(t)
	a := labtest.Name("x")
	labtest.Netns(t, s, a, false)
	before := len(s.Owned())

	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"a duplicate namespace", func() error { _, err := s.AddNetns(a); return err }, lab.ErrExists},
		{"an invalid namespace name", func() error { _, err := s.AddNetns("bad/name"); return err }, lab.ErrInvalid},
		{"a veth into a missing namespace", func() error { return s.AddVeth("v1", a, "v2", labtest.Name("missing")) }, lab.ErrNotFound},
		{"a host link name over 9 bytes", func() error { return s.AddBridge("toolongname", "host") }, lab.ErrInvalid},
		{"a link inside over 15 bytes", func() error { return s.AddBridge("abcdefghijklmnop", a) }, lab.ErrInvalid},
		{"an address without prefix", func() error { return s.AddAddr("10.0.0.1", "lo", a) }, lab.ErrInvalid},
		{"an address on a missing link", func() error { return s.AddAddr("10.0.0.1/24", "eth9", a) }, lab.ErrNotFound},
		{"a route via a host name", func() error { return s.AddRoute("default", "gateway.local", "", a) }, lab.ErrInvalid},
		{"deleting a namespace the lab did not make", func() error { return s.DelNetns(labtest.Name("none")) }, lab.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want one wrapping %v", err, tt.want)
			}
			if len(err.Error()) < 20 {
				t.Errorf("error %q says too little", err)
			}
			if n := len(s.Owned()); n != before {
				t.Errorf("session owns %d resources after the failed call, want %d: %v", n, before, s.Owned())
			}
		})
	}
	// The veth into the missing namespace must not exist half-made.
	links, _ := s.Links(a)
	for _, l := range links {
		if l.Name == "v1" {
			t.Error("a failed veth left its first end behind")
		}
	}
}

func TestDelNetnsAndNamespaceRecreatedUnderTheSameName(t *testing.T) {
	s := labtest.New(t)
	a := labtest.Name("d")
	ns1, err := s.AddNetns(a)
	must(t, err)
	ino1 := ns1.Inode()
	ns1.Close()
	must(t, s.AddBridge("br0", a))
	must(t, s.DelNetns(a))
	if _, err := os.Stat(filepath.Join(lab.NetnsDir, "nslab-"+a)); !os.IsNotExist(err) {
		t.Fatalf("namespace file still there after DelNetns: %v", err)
	}
	ns2, err := s.AddNetns(a)
	must(t, err)
	defer ns2.Close()
	if ns2.Inode() == ino1 {
		t.Fatal("a recreated namespace has the old inode")
	}
	// The cached netlink handle of the old namespace must not be reused:
	// br0 lived in the old one and is not here.
	links, err := s.Links(a)
	must(t, err)
	for _, l := range links {
		if l.Name == "br0" {
			t.Fatal("Links shows the deleted namespace's bridge: stale netlink handle")
		}
	}
}

func TestLookAlikeResourcesAreNeverTouched(t *testing.T) {
	s := labtest.New(t)
	foreign := "nslab-" + labtest.Name("foreign")
	labtest.ForeignNetns(t, foreign)

	if err := s.DelNetns(foreign); !errors.Is(err, lab.ErrNotOwned) {
		t.Errorf("DelNetns of a namespace someone else made: %v, want ErrNotOwned", err)
	}
	if _, err := s.AddNetns(foreign); !errors.Is(err, lab.ErrExists) {
		t.Errorf("AddNetns over someone else's namespace: %v, want ErrExists", err)
	}
	rep, err := lab.Cleanup(t.TempDir())
	must(t, err)
	if !slices.Contains(rep.Foreign, "netns "+foreign) {
		t.Errorf("cleanup did not report %s as not ours: %+v", foreign, rep)
	}
	if _, err := os.Stat(filepath.Join(lab.NetnsDir, foreign)); err != nil {
		t.Fatalf("someone else's namespace was removed: %v", err)
	}
}

func TestAUsersOwnLinksSurviveTheLab(t *testing.T) {
	labtest.RequireRoot(t)
	tag := labtest.Name("")
	lookalike := "nslab-u" + tag // prefixed, but no journal records it
	own := "usr" + tag
	labtest.ForeignLink(t, lookalike, "type", "bridge")
	labtest.ForeignLink(t, own, "type", "veth", "peer", "name", own+"p")

	dir := t.TempDir()
	s, err := lab.NewSession(lab.Options{RunDir: dir})
	must(t, err)
	a := labtest.Name("o")
	_, err = s.AddNetns(a)
	must(t, err)
	must(t, s.AddVeth("h"+tag, "host", "eth0", a))
	if err := s.DelLink("u"+tag, "host"); !errors.Is(err, lab.ErrNotOwned) {
		t.Errorf("DelLink of a look-alike link: %v, want ErrNotOwned", err)
	}
	if err := s.AddBridge("u"+tag, "host"); !errors.Is(err, lab.ErrExists) {
		t.Errorf("AddBridge over a look-alike link: %v, want ErrExists", err)
	}
	must(t, s.Close())
	rep, err := lab.Cleanup(dir)
	must(t, err)
	if !slices.Contains(rep.Foreign, "link "+lookalike) {
		t.Errorf("cleanup did not report %s as not ours: %+v", lookalike, rep)
	}
	for _, name := range []string{lookalike, own, own + "p"} {
		if !labtest.IPOK("link", "show", name) {
			t.Errorf("link %s, not the lab's, is gone", name)
		}
	}
}

// BenchmarkNetnsAddDel measures creating and removing one named namespace
// (unshare + bind mount + journal, then unmount + remove).
func BenchmarkNetnsAddDel(b *testing.B) {
	s := labtest.New(b)
	base := labtest.Name("bn")
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("%s-%d", base, i)
		ns, err := s.AddNetns(name)
		if err != nil {
			b.Fatal(err)
		}
		ns.Close()
		if err := s.DelNetns(name); err != nil {
			b.Fatal(err)
		}
	}
}
