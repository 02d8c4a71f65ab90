package probe_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

// kinds lists the kinds of r's holders, leaving out copies of a bind mount
// in other mount namespaces: other tests, running at the same time, make
// private mount namespaces, and each keeps a copy of the mounts that
// existed when it was made. Those are real holders, but not this test's.
func kinds(t *testing.T, r *probe.HolderReport) []string {
	t.Helper()
	own := labtest.NsIno(t, os.Getpid(), "mnt")
	var out []string
	for _, h := range r.Holders {
		if h.Kind == probe.HeldByMount && h.MountNS != own {
			continue
		}
		out = append(out, h.Kind)
	}
	return out
}

func holdersOf(t *testing.T, path string) (*probe.HolderReport, uint64) {
	t.Helper()
	typ, ino, err := probe.NamespaceOf(path)
	if err != nil || typ != "net" {
		t.Fatalf("NamespaceOf(%s) = %s, %v", path, typ, err)
	}
	r, err := probe.FindHolders("net", ino)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Errorf("holders of %s: errors %v", path, r.Errors)
	}
	return r, ino
}

// Four namespaces, each held by one thing only: a bind mount, a process, an
// open descriptor, a socket (in another process, which is not in it). The
// holders report names each; lsns, which lists namespaces of processes,
// sees the process-held one and misses the socket-only one.
func TestHoldersNameWhatKeepsANamespaceAlive(t *testing.T) {
	s := labtest.New(t)
	mk := func() (string, *lab.Netns) {
		name := labtest.Name("hd")
		n, err := s.AddNetns(name)
		if err != nil {
			t.Fatal(err)
		}
		return name, n
	}

	t.Run("a bind mount", func(t *testing.T) {
		name, n := mk()
		n.Close()
		path := filepath.Join(lab.NetnsDir, lab.SysName(name))
		r, _ := holdersOf(t, path)
		if !slices.Equal(kinds(t, r), []string{probe.HeldByMount}) || r.Holders[0].Path != path {
			t.Errorf("holders %v, want the one mount at %s (in this mount namespace)", r.Holders, path)
		}
		if err := s.DelNetns(name); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a process", func(t *testing.T) {
		p, err := s.Spawn(lab.SpawnOptions{Name: labtest.Name("hp"), Namespaces: []string{"net"}})
		if err != nil {
			t.Fatal(err)
		}
		r, ino := holdersOf(t, fmt.Sprintf("/proc/%d/ns/net", p.PID))
		if !slices.Equal(kinds(t, r), []string{probe.HeldByProcess}) || r.Holders[0].PID != p.PID {
			t.Errorf("holders %v, want process %d", r.Holders, p.PID)
		}
		if _, listed := labtest.LsnsHeld(t, "net")[ino]; !listed {
			t.Errorf("lsns does not list net:[%d], which process %d is in: the comparison below proves nothing", ino, p.PID)
		}
	})

	t.Run("a descriptor", func(t *testing.T) {
		name, n := mk()
		n.Close()
		path := filepath.Join(lab.NetnsDir, lab.SysName(name))
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := s.DelNetns(name); err != nil {
			t.Fatal(err)
		}
		r, _ := holdersOf(t, fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
		// The probe opened the file once more to learn its inode and
		// closed it: only the test's own descriptor is left.
		if !slices.Equal(kinds(t, r), []string{probe.HeldByFD}) || r.Count(probe.HeldByFD) != 1 {
			t.Fatalf("holders %v, want fd %d of this process", r.Holders, f.Fd())
		}
		for _, h := range r.Holders {
			if h.Kind == probe.HeldByFD && (h.PID != os.Getpid() || h.FD != int(f.Fd())) {
				t.Errorf("holder %+v, want fd %d of this process", h, f.Fd())
			}
		}
	})

	t.Run("a socket, in a process that is elsewhere", func(t *testing.T) {
		name, n := mk()
		l, err := lab.ListenIn(n, "tcp", "127.0.0.1:0")
		n.Close()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(lab.NetnsDir, lab.SysName(name))
		_, ino, err := probe.NamespaceOf(path)
		if err != nil {
			t.Fatal(err)
		}
		// Hand the socket to a child in the host's namespace and close
		// ours: the child's socket is the only holder.
		sf, err := l.(interface{ File() (*os.File, error) }).File()
		l.Close()
		if err != nil {
			t.Fatal(err)
		}
		child := exec.Command("sleep", "60")
		child.ExtraFiles = []*os.File{sf}
		labtest.StartCmd(t, child)
		sf.Close()
		if err := s.DelNetns(name); err != nil {
			t.Fatal(err)
		}
		r, err := probe.FindHolders("net", ino)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(kinds(t, r), []string{probe.HeldBySocket}) {
			t.Fatalf("holders %v, want the child's socket only", r.Holders)
		}
		h := r.Holders[slices.IndexFunc(r.Holders, func(h probe.Holder) bool { return h.Kind == probe.HeldBySocket })]
		if h.PID != child.Process.Pid || h.FD != 3 || h.Socket == nil || h.Socket.Proto != "tcp" || h.Socket.State != "LISTEN" {
			t.Errorf("holder %+v (socket %+v), want fd 3 of pid %d, a TCP listener", h, h.Socket, child.Process.Pid)
		}
		if r.VisibleToLsns() {
			t.Error("the report says lsns would see a namespace with no process in it")
		}
		if _, listed := labtest.LsnsHeld(t, "net")[ino]; listed {
			t.Errorf("lsns lists net:[%d], held only by a socket", ino)
		}
		if !strings.Contains(h.String(), "socket") || !strings.Contains(h.String(), "LISTEN") {
			t.Errorf("the holder reads %q", h.String())
		}
		// The child ends: nothing holds the namespace, and the kernel
		// frees it (its inode is held by no one: no report can find it).
		child.Process.Kill()
		child.Wait()
		if !labtest.Eventually(5*time.Second, func() bool {
			r, _ = probe.FindHolders("net", ino)
			return r != nil && len(kinds(t, r)) == 0
		}) {
			t.Fatalf("holders after the child died: %v", r.Holders)
		}
	})
}

func TestNamespaceOfRefusesAPlainFile(t *testing.T) {
	labtest.RequireRoot(t)
	if _, _, err := probe.NamespaceOf("/etc/hostname"); err == nil || !strings.Contains(err.Error(), "not a namespace") {
		t.Errorf("NamespaceOf(/etc/hostname) = %v, want a clear refusal", err)
	}
	typ, ino, err := probe.NamespaceOf("/proc/self/ns/user")
	if err != nil || typ != "user" || ino != labtest.NsIno(t, os.Getpid(), "user") {
		t.Errorf("NamespaceOf(/proc/self/ns/user) = %s %d %v", typ, ino, err)
	}
}

// A user namespace is held by the namespaces it owns: a child made with
// new user and UTS namespaces owns its UTS namespace.
func TestAUserNamespaceIsHeldByWhatItOwns(t *testing.T) {
	s := labtest.New(t)
	p, err := s.Spawn(lab.SpawnOptions{Name: labtest.Name("hu"), Namespaces: []string{"user", "uts"}})
	if err != nil {
		t.Skipf("user namespaces: %v", err)
	}
	user, uts := labtest.NsIno(t, p.PID, "user"), labtest.NsIno(t, p.PID, "uts")
	r, err := probe.FindHolders("user", user)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count(probe.HeldByProcess) != 1 {
		t.Errorf("holders %v, want the child as a process", r.Holders)
	}
	want := fmt.Sprintf("uts:[%d]", uts)
	found := false
	for _, h := range r.Holders {
		found = found || h.Kind == probe.HeldByOwned && h.OwnedNS == want
	}
	if !found {
		t.Errorf("holders %v lack the owned %s", r.Holders, want)
	}
}

// BenchmarkFindHolders reads all of /proc for the holders of one namespace
// held by a bind mount and a socket: what `holders NAME` and the TUI's
// holders view cost per refresh (it grows with the processes and
// descriptors of the whole machine, not with the lab).
func BenchmarkFindHolders(b *testing.B) {
	s := labtest.New(b)
	name := labtest.Name("bh")
	n := labtest.Netns(b, s, name, false)
	labtest.Listen(b, n, "tcp", "127.0.0.1:0")
	n.Close() // held by the mount and the socket only
	_, ino, err := probe.NamespaceOf(lab.NetnsDir + "/" + lab.SysName(name))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var rep *probe.HolderReport
	for b.Loop() {
		if rep, err = probe.FindHolders("net", ino); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if rep.Count(probe.HeldBySocket) != 1 {
		b.Fatalf("holders %v", rep.Holders)
	}
	b.ReportMetric(float64(rep.Scanned), "procs")
}

// BenchmarkFindHoldersOf100 is the TUI's holders view of a lab with 100
// namespaces: one pass over /proc for all of them.
func BenchmarkFindHoldersOf100(b *testing.B) {
	s := labtest.New(b)
	var inos []uint64
	base := labtest.Name("b") // one random part, then 0..99: no two alike
	for i := range 100 {
		n, err := s.AddNetns(fmt.Sprintf("%s-%d", base, i))
		if err != nil {
			b.Fatal(err)
		}
		inos = append(inos, n.Inode())
		n.Close()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		reps, err := probe.FindHoldersOf("net", inos)
		if err != nil || len(reps) != 100 || reps[inos[0]].Count(probe.HeldByMount) < 1 {
			b.Fatalf("%v %v", reps, err)
		}
	}
}
