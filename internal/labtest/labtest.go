// Package labtest gives privileged tests a lab session that cleans up after
// itself and proves it did: after the test, every resource the session
// recorded must be gone from the system.
package labtest

import (
	"crypto/rand"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/nslab/nslab/lab"
)

// Main is TestMain for packages whose tests spawn children: the test binary
// is re-executed as the child's init (see lab.Spawn).
func Main(m *testing.M) {
	lab.Init()
	// Keep every test goroutine off the main thread: the runtime never
	// discards the main thread, so a namespace switch that failed to
	// restore on it would leave it in the wrong namespace for good. nslab
	// itself does not lock it (a parked thread, and a locked-thread handoff
	// at every wait); lab.GoLocked keeps its switches off the main thread.
	runtime.LockOSThread()
	os.Exit(m.Run())
}

// RequireRoot skips the test without the privileges the lab needs, unless
// NSLAB_REQUIRE_ROOT=1 (set by CI), where it fails instead.
func RequireRoot(t testing.TB) {
	t.Helper()
	if err := lab.CheckPrivileges(); err != nil {
		if os.Getenv("NSLAB_REQUIRE_ROOT") == "1" {
			t.Fatalf("NSLAB_REQUIRE_ROOT=1 but %v", err)
		}
		t.Skipf("needs root: %v", err)
	}
}

// Long gates a long privileged test: RequireRoot, and skipped under
// -short, saying why (what makes it long).
func Long(t testing.TB, why string) {
	t.Helper()
	RequireRoot(t)
	if testing.Short() {
		t.Skip(why)
	}
}

// New returns a session for t. At the end of the test it closes the session
// and fails the test if Close failed or anything the session recorded still
// exists.
func New(t testing.TB) *lab.Session {
	t.Helper()
	RequireRoot(t)
	s, err := lab.NewSession(lab.Options{})
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	t.Cleanup(func() {
		owned := s.Owned()
		if err := s.Close(); err != nil {
			t.Errorf("session close: %v", err)
		}
		for _, left := range lab.StillThere(owned) {
			t.Errorf("left behind after Close: %s", left)
		}
	})
	return s
}

// Name returns base with a short random suffix, so tests running in
// parallel (and packages tested at once) never pick the same namespace or
// link name. Keep base at 4 bytes or less for host-side links (15-byte limit,
// minus "nslab-" and the suffix).
//
// The suffix is 4 characters of [0-9a-z] (1.7 million). A name is never
// handed out twice in one process, and one that exists already — as a
// namespace or a link, with or without the "nslab-" prefix — is passed
// over, so only two processes drawing the same name at the same moment can
// collide. (Four hex digits were not enough: 30 names in one test met twice
// in 65 536 at a rate of 1 in 150.)
func Name(base string) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	namesMu.Lock()
	defer namesMu.Unlock()
	for {
		var b [4]byte
		rand.Read(b[:])
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		name := base + string(b[:])
		if names[name] || exists(name) || exists("nslab-"+name) {
			continue
		}
		names[name] = true
		return name
	}
}

var (
	namesMu sync.Mutex
	names   = map[string]bool{} // every name Name has returned
)

// exists says whether name is a network namespace in /run/netns or a link
// in this network namespace.
func exists(name string) bool {
	for _, p := range []string{"/run/netns/" + name, "/sys/class/net/" + name} {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

// Lsns runs lsns (util-linux) with args. It exits 1 when a process it
// reads vanishes meanwhile, so it is tried again; what it printed counts.
func Lsns(t testing.TB, args ...string) []byte {
	t.Helper()
	var out []byte
	var err error
	for range 5 {
		if out, err = exec.Command("lsns", args...).Output(); err == nil {
			return out
		}
	}
	if len(out) == 0 {
		t.Fatalf("lsns %s: %v", strings.Join(args, " "), err)
	}
	return out
}
