package lab_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

func inode(t testing.TB, path string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// threadNetns returns the net namespace inode of every thread of this
// process.
func threadNetns(t testing.TB) map[int]uint64 {
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	out := map[int]uint64{}
	for i, p := range tasks {
		var st unix.Stat_t
		if unix.Stat(p, &st) == nil { // a thread may exit meanwhile
			out[i] = st.Ino
		}
	}
	return out
}

func TestDoRunsInsideAndEveryThreadComesBack(t *testing.T) {
	s := labtest.New(t)
	ns, err := s.AddNetns(labtest.Name("sw"))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	host := inode(t, "/proc/self/ns/net")

	var wg sync.WaitGroup
	var mu sync.Mutex
	inside := map[uint64]int{}
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := lab.Do(ns, func() error {
				var st unix.Stat_t
				unix.Stat("/proc/thread-self/ns/net", &st)
				mu.Lock()
				inside[st.Ino]++
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if inside[ns.Inode()] != 200 || len(inside) != 1 {
		t.Fatalf("fn ran in namespaces %v, want all 200 in %d", inside, ns.Inode())
	}
	for tid, ino := range threadNetns(t) {
		if ino != host {
			t.Errorf("thread %d is in net:[%d] after Do, want host net:[%d]", tid, ino, host)
		}
	}
}

func TestDoReturnsErrorsAndRepanicsOnTheCaller(t *testing.T) {
	s := labtest.New(t)
	ns, err := s.AddNetns(labtest.Name("sw"))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	want := errors.New("boom")
	if err := lab.Do(ns, func() error { return want }); !errors.Is(err, want) {
		t.Errorf("Do returned %v, want fn's error", err)
	}
	func() {
		defer func() {
			if r := recover(); r != "in the namespace" {
				t.Errorf("recovered %v, want the panic raised inside", r)
			}
		}()
		lab.Do(ns, func() error { panic("in the namespace") })
	}()
	host := inode(t, "/proc/self/ns/net")
	for tid, ino := range threadNetns(t) {
		if ino != host {
			t.Errorf("thread %d left in net:[%d] after a panic inside Do", tid, ino)
		}
	}
}

func TestOpenNetnsSaysWhatIsMissing(t *testing.T) {
	labtest.RequireRoot(t)
	_, err := lab.OpenNetns(labtest.Name("nope"))
	if !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("OpenNetns of a missing namespace: %v", err)
	}
	// A stale file (not an nsfs mount) is not a namespace.
	p := filepath.Join(lab.NetnsDir, "nslab-"+labtest.Name("stale"))
	os.MkdirAll(lab.NetnsDir, 0o755)
	os.WriteFile(p, nil, 0o444)
	defer os.Remove(p)
	if _, err := lab.OpenNetns(filepath.Base(p)); !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("OpenNetns of a stale file: %v", err)
	}
}
