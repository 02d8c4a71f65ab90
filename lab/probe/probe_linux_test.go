package probe_test

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

func TestSnapshotsOfSpawnedChildrenMatchProcAndLsns(t *testing.T) {
	s := labtest.New(t)
	newNS := []string{"net", "uts", "pid", "ipc"}
	var snaps []*probe.Snapshot
	var names []string
	for range 2 {
		name := labtest.Name("c")
		p, err := s.Spawn(lab.SpawnOptions{Name: name, Namespaces: newNS, Hostname: name})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := probe.Take(p.PID, probe.Options{Threads: true, Sockets: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Errors) > 0 {
			t.Errorf("child %s: errors %v", name, snap.Errors)
		}
		for _, typ := range probe.Types {
			if got, want := snap.Namespaces[typ], labtest.NsIno(t, p.PID, typ); got != want {
				t.Errorf("child %s %s: probe says %d, /proc says %d", name, typ, got, want)
			}
		}
		for typ, ino := range lsns(t, p.PID) {
			if got := snap.Namespaces[typ]; got != ino {
				t.Errorf("child %s %s: probe says %d, lsns says %d", name, typ, got, ino)
			}
		}
		// A Go child may start a thread between the two reads.
		if snap.NumThreads < 1 || len(snap.Threads) < 1 || snap.VmRSS == 0 || snap.FDs < 3 {
			t.Errorf("child %s: %d threads (%d listed), rss %d, %d fds", name, snap.NumThreads, len(snap.Threads), snap.VmRSS, snap.FDs)
		}
		for _, th := range snap.Threads {
			if th.NetNS != snap.Namespaces["net"] {
				t.Errorf("child %s thread %d in net:[%d], the process in net:[%d]", name, th.TID, th.NetNS, snap.Namespaces["net"])
			}
		}
		// Every new namespace, and only those, differs from PID 1 (as
		// far as this test process itself does not).
		want := probe.DiffFromInit(mustSelf(t))
		want = append(want, "ipc", "net", "pid", "pid_for_children", "uts")
		got := probe.DiffFromInit(snap)
		slices.Sort(want)
		want = slices.Compact(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("child %s differs from PID 1 in %v, want %v", name, got, want)
		}
		snaps = append(snaps, snap)
		names = append(names, name)
	}

	t.Run("the two children share only the namespaces neither made", func(t *testing.T) {
		for _, d := range probe.Compare(snaps[0], snaps[1]) {
			fresh := slices.Contains(newNS, d.Type) || d.Type == "pid_for_children"
			if d.Same == fresh {
				t.Errorf("%s: same=%v (%d vs %d)", d.Type, d.Same, d.A, d.B)
			}
		}
	})
	t.Run("names are the spawn names, host and the lab's namespaces", func(t *testing.T) {
		ns := labtest.Netns(t, s, labtest.Name("n"), false)
		n := probe.LoadNames()
		for i, snap := range snaps {
			if got := n.Name("net", snap.Namespaces["net"]); got != names[i] {
				t.Errorf("child net namespace named %q, want %q", got, names[i])
			}
			if got := n.Name("pid_for_children", snap.Namespaces["pid_for_children"]); got != names[i] {
				t.Errorf("child pid_for_children named %q, want %q", got, names[i])
			}
			if got := n.Label(snap.PID); got != names[i] {
				t.Errorf("label of pid %d is %q, want %q", snap.PID, got, names[i])
			}
		}
		if got := n.Name("net", ns.Inode()); got != "nslab-"+ns.Name() {
			t.Errorf("lab namespace named %q, want nslab-%s", got, ns.Name())
		}
		if got := n.Name("mnt", hostInode(t, "mnt")); got != "host" {
			t.Errorf("PID 1's mnt namespace named %q, want host", got)
		}
	})
}

func TestSocketsInThreeNamespacesAreAttributedToTheirs(t *testing.T) {
	s := labtest.New(t)
	want := socketsInThree(t, s) // fd → netns inode
	snap, err := probe.Self(probe.Options{Threads: true, Sockets: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Errors) > 0 {
		t.Errorf("errors: %v", snap.Errors)
	}
	checkSockets(t, snap, want)
	home := labtest.NsIno(t, os.Getpid(), "net")
	if len(snap.Threads) < 2 {
		t.Fatalf("only %d threads listed", len(snap.Threads))
	}
	for _, th := range snap.Threads {
		if th.NetNS != home || th.Err != "" {
			t.Errorf("thread %d (%s) in net:[%d] (%s), want the start namespace net:[%d]", th.TID, th.Comm, th.NetNS, th.Err, home)
		}
	}
	by := snap.SocketsByNetns()
	for _, ino := range want {
		if by[ino] < 1 {
			t.Errorf("SocketsByNetns has no socket in net:[%d]: %v", ino, by)
		}
	}
}

func TestSocketsOfAnotherProcessAreAttributedThroughPidfdGetfd(t *testing.T) {
	s := labtest.New(t)
	want := socketsInThree(t, s)
	// The child inherits the sockets from fd 3 on, in fd order.
	var files []*os.File
	var order []int
	for fd := range want {
		order = append(order, fd)
	}
	slices.Sort(order)
	childWant := map[int]uint64{}
	for i, fd := range order {
		files = append(files, os.NewFile(uintptr(fd), "socket"))
		childWant[3+i] = want[fd]
	}
	pid := holder(t, s, files)
	for _, pass := range []string{"first snapshot", "second snapshot (known sockets)", "after forgetting"} {
		t.Run(pass, func(t *testing.T) {
			if pass == "after forgetting" {
				probe.ForgetSockets()
			}
			snap, err := probe.Take(pid, probe.Options{Threads: true, Sockets: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Errors) > 0 {
				t.Errorf("errors: %v", snap.Errors)
			}
			checkSockets(t, snap, childWant)
			for _, th := range snap.Threads {
				if th.NetNS != labtest.NsIno(t, os.Getpid(), "net") {
					t.Errorf("child thread %d in net:[%d]", th.TID, th.NetNS)
				}
			}
		})
	}
}

func TestErrorsArePerFieldNeverWrongNumbers(t *testing.T) {
	labtest.RequireRoot(t)
	t.Run("a PID with no process is an error", func(t *testing.T) {
		max, _ := os.ReadFile("/proc/sys/kernel/pid_max")
		n, _ := strconv.Atoi(string(max[:len(max)-1]))
		_, err := probe.Take(n+1, probe.Options{Threads: true, Sockets: true})
		if !errors.Is(err, probe.ErrNoProcess) {
			t.Errorf("Take(pid_max+1) = %v, want ErrNoProcess", err)
		}
	})
	t.Run("an exited, unreaped process reports every field as exited", func(t *testing.T) {
		cmd := labtest.Start(t, "sleep", "60") // reaped after the test
		cmd.Process.Kill()
		var si unix.Siginfo
		// Wait for the exit without reaping (WNOWAIT): a zombie.
		if err := unix.Waitid(unix.P_PID, cmd.Process.Pid, &si, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
			t.Fatal(err)
		}
		checkExited(t, cmd.Process.Pid)
	})
	t.Run("a process that exits mid-read reports exited, not numbers", func(t *testing.T) {
		cmd := labtest.Start(t, "sleep", "60")
		pid := cmd.Process.Pid
		defer probe.SetAfterOpen(func(p int) {
			if p == pid {
				cmd.Process.Kill()
				cmd.Wait() // reaped: the PID may now be reused by anyone
			}
		})()
		checkExited(t, pid)
	})
	t.Run("without pidfd_getfd, sockets are listed with no namespace", func(t *testing.T) {
		s := labtest.New(t)
		want := socketsInThree(t, s)
		var files []*os.File
		for fd := range want {
			files = append(files, os.NewFile(uintptr(fd), "socket"))
		}
		pid := holder(t, s, files)
		probe.ForgetSockets()
		defer probe.SetPidfdGetfd(func(int, int, int) (int, error) { return -1, unix.ENOSYS })()
		snap, err := probe.Take(pid, probe.Options{Sockets: true})
		if err != nil {
			t.Fatal(err)
		}
		if snap.Errors["sockets"] == "" {
			t.Errorf("no sockets error: %v", snap.Errors)
		}
		if len(snap.Sockets) < len(want) {
			t.Errorf("%d sockets listed, want at least %d", len(snap.Sockets), len(want))
		}
		for _, k := range snap.Sockets {
			if k.NetNS != 0 || k.Err == "" || k.Inode == 0 {
				t.Errorf("socket without pidfd_getfd: %+v", k)
			}
		}
		if snap.Namespaces["net"] == 0 || snap.NumThreads == 0 {
			t.Errorf("other fields lost: %+v", snap)
		}
	})
}

// checkExited takes a snapshot of pid, which is (or becomes) gone, and
// checks that every field says so and no number was made up.
func checkExited(t *testing.T, pid int) {
	t.Helper()
	snap, err := probe.Take(pid, probe.Options{Threads: true, Sockets: true})
	if err != nil {
		if errors.Is(err, probe.ErrNoProcess) {
			return // gone before the open: also right
		}
		t.Fatal(err)
	}
	if snap.Errors["process"] == "" || len(snap.Sockets) != 0 || snap.FDs != 0 {
		t.Errorf("an exited process looks alive: %+v", snap)
	}
	for _, typ := range probe.Types {
		e, ino := snap.Errors["ns."+typ], snap.Namespaces[typ]
		switch {
		case e == "" && ino == 0:
			t.Errorf("ns.%s: neither an inode nor an error", typ)
		case e != "" && e != "process exited while being read":
			t.Errorf("ns.%s error %q", typ, e)
		case ino != 0:
			// A zombie still has its pid and user namespaces: the
			// number must be the kernel's.
			if want := labtest.NsIno(t, pid, typ); ino != want {
				t.Errorf("ns.%s = %d, the kernel says %d", typ, ino, want)
			}
		}
	}
	if snap.Errors["ns.net"] == "" {
		t.Errorf("no ns.net error: %v", snap.Errors)
	}
	// No descriptors, sockets or threads read from a dead process is no
	// count: each says why it is empty.
	for _, field := range []string{"fds", "sockets", "threads"} {
		if snap.Errors[field] == "" && !(field == "threads" && len(snap.Threads) > 0) {
			t.Errorf("%s of an exited process: no error, so a count of 0: %v", field, snap.Errors)
		}
	}
}

// socketsInThree binds a TCP listener and a UDP socket in each of three new
// namespaces and returns their descriptors with the namespace inode each
// must be found in.
func socketsInThree(t *testing.T, s *lab.Session) map[int]uint64 {
	t.Helper()
	want := map[int]uint64{}
	for range 3 {
		name := labtest.Name("s")
		ns, err := s.AddNetns(name)
		if err != nil {
			t.Fatal(err)
		}
		defer ns.Close()
		if err := s.SetLinkUp("lo", name, true); err != nil {
			t.Fatal(err)
		}
		l := labtest.Listen(t, ns, "tcp", "127.0.0.1:0")
		c, err := lab.ListenPacketIn(ns, "udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		want[sysFd(t, l.(syscall.Conn))] = ns.Inode()
		want[sysFd(t, c.(syscall.Conn))] = ns.Inode()
	}
	return want
}

func checkSockets(t *testing.T, snap *probe.Snapshot, want map[int]uint64) {
	t.Helper()
	seen := map[int]bool{}
	for _, k := range snap.Sockets {
		ino, ok := want[k.FD]
		if !ok {
			continue
		}
		seen[k.FD] = true
		if k.NetNS != ino || k.Err != "" {
			t.Errorf("fd %d: in net:[%d] (%q), want net:[%d]", k.FD, k.NetNS, k.Err, ino)
		}
		tcp := k.Proto == "tcp" || k.Proto == "mptcp"
		if !(tcp && k.State == "LISTEN" || k.Proto == "udp" && k.State == "") {
			t.Errorf("fd %d: proto %q state %q", k.FD, k.Proto, k.State)
		}
		if ap, err := netipParse(k.Local); err != nil || ap != "127.0.0.1" {
			t.Errorf("fd %d: local %q", k.FD, k.Local)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("found %d of %d sockets in %+v", len(seen), len(want), snap.Sockets)
	}
}

func netipParse(s string) (string, error) {
	host, _, err := net.SplitHostPort(s)
	return host, err
}

func sysFd(t *testing.T, c syscall.Conn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

func mustSelf(t *testing.T) *probe.Snapshot {
	s, err := probe.Self(probe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lsns asks util-linux for the namespaces of pid: type → inode.
func lsns(t *testing.T, pid int) map[string]uint64 {
	t.Helper()
	out := labtest.Lsns(t, "-J", "-p", strconv.Itoa(pid))
	var v struct {
		Namespaces []struct {
			NS   uint64 `json:"ns"`
			Type string `json:"type"`
		} `json:"namespaces"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("lsns -J: %v\n%s", err, out)
	}
	m := map[string]uint64{}
	for _, n := range v.Namespaces {
		m[n.Type] = n.NS
	}
	if len(m) < 6 {
		t.Fatalf("lsns listed only %v", m)
	}
	return m
}

func TestInitialNamespacesAreKnownWithoutReadingPID1(t *testing.T) {
	for _, tc := range []struct {
		release string
		netMnt  bool
	}{
		{"6.18.44-fc-v595", true},
		{"6.18", true},
		{"7.0.1", true},
		{"6.17.9-arch1", false},
		{"5.15.0-91-generic", false},
		{"garbage", false},
	} {
		t.Run("on "+tc.release+" net and mnt are reserved: "+strconv.FormatBool(tc.netMnt), func(t *testing.T) {
			m := probe.InitInodes(tc.release)
			if m["uts"] != 0xEFFFFFFE || m["pid"] != 0xEFFFFFFC || m["pid_for_children"] != m["pid"] {
				t.Errorf("reserved inodes %v", m)
			}
			if _, ok := m["net"]; ok != tc.netMnt {
				t.Errorf("net in %v: %v, want %v", m, ok, tc.netMnt)
			}
			if _, ok := m["mnt"]; ok != tc.netMnt {
				t.Errorf("mnt in %v: %v, want %v", m, ok, tc.netMnt)
			}
		})
	}
	t.Run("they are PID 1's on this machine", func(t *testing.T) {
		labtest.RequireRoot(t)
		if labtest.NsIno(t, os.Getpid(), "pid") != 0xEFFFFFFC {
			t.Skip("not in the initial PID namespace: PID 1 is a container's init")
		}
		for typ, ino := range probe.InitInodes(probe.KernelRelease()) {
			if got := hostInode(t, typ); got != ino {
				t.Errorf("%s: PID 1 in %d, reserved inode %d", typ, got, ino)
			}
		}
	})
}

// hostInode is PID 1's namespace of type typ, or kthreadd's where PID 1 may
// not be read (as the probe does).
func hostInode(t testing.TB, typ string) uint64 {
	if _, err := os.Readlink("/proc/1/ns/" + typ); err == nil {
		return labtest.NsIno(t, 1, typ)
	}
	return labtest.NsIno(t, 2, typ)
}
