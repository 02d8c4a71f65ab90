package probe_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

// BenchmarkSnapshot measures one snapshot: of this process without sockets
// (the budget is 1 ms), and of a process holding 2000 sockets in 1000
// namespaces, sockets included (budget 20 ms) — this process (sockets asked
// directly) and a child (each socket copied with pidfd_getfd), both as a
// panel sees it every tick and, for the child, the first time ("-first":
// every descriptor's /proc link is read) and cold ("-cold": as a one-shot
// `nslab inspect` runs, with no namespace known either).
func BenchmarkSnapshot(b *testing.B) {
	b.Run("self/no-sockets", func(b *testing.B) {
		for range b.N {
			if _, err := probe.Self(probe.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("self/threads", func(b *testing.B) {
		for range b.N {
			if _, err := probe.Self(probe.Options{Threads: true}); err != nil {
				b.Fatal(err)
			}
		}
	})

	s := labtest.New(b)
	files := socketsInNamespaces(b, s, 1000, 2)
	b.Run("self/2000-sockets-1000-netns", func(b *testing.B) {
		benchSockets(b, os.Getpid(), 2000, 1000, nil)
	})
	child := holder(b, s, files)
	b.Run("child/2000-sockets-1000-netns", func(b *testing.B) {
		benchSockets(b, child, 2000, 1000, nil)
	})
	b.Run("child/2000-sockets-1000-netns-first", func(b *testing.B) {
		benchSockets(b, child, 2000, 1000, probe.ForgetSockets)
	})
	// What a one-shot `nslab inspect` pays: nothing remembered at all, so
	// every namespace costs its SIOCGSKNS and every descriptor its readlink.
	b.Run("child/2000-sockets-1000-netns-cold", func(b *testing.B) {
		benchSockets(b, child, 2000, 1000, func() { probe.ForgetSockets(); probe.ForgetCookies() })
	})
	b.Run("child/no-sockets", func(b *testing.B) {
		for range b.N {
			if _, err := probe.Take(child, probe.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchSockets times snapshots of pid with sockets, calling forget (if not
// nil) before each, untimed, and checks the first one's counts.
func benchSockets(b *testing.B, pid, wantSockets, wantNetns int, forget func()) {
	for i := range b.N {
		if forget != nil {
			b.StopTimer()
			forget()
			b.StartTimer()
		}
		snap, err := probe.Take(pid, probe.Options{Sockets: true})
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.StopTimer()
			if len(snap.Errors) > 0 {
				b.Fatalf("errors: %v", snap.Errors)
			}
			by := snap.SocketsByNetns()
			delete(by, snap.Namespaces["net"])
			n := 0
			for _, c := range by {
				n += c
			}
			if n != wantSockets || len(by) != wantNetns {
				b.Fatalf("%d sockets in %d other namespaces, want %d in %d", n, len(by), wantSockets, wantNetns)
			}
			b.StartTimer()
		}
	}
}

// socketsInNamespaces makes nns namespaces with per sockets in each (a TCP
// listener, then UDP sockets), and returns them as files, closed at the end.
func socketsInNamespaces(b testing.TB, s *lab.Session, nns, per int) []*os.File {
	base := labtest.Name("pb")
	var files []*os.File
	b.Cleanup(func() {
		for _, f := range files {
			f.Close()
		}
	})
	for i := range nns {
		ns, err := s.AddNetns(fmt.Sprintf("%s-%d", base, i))
		if err != nil {
			b.Fatal(err)
		}
		for j := range per {
			var f *os.File
			if j == 0 {
				l, err := lab.ListenIn(ns, "tcp", "0.0.0.0:0")
				if err != nil {
					b.Fatal(err)
				}
				f, err = l.(*net.TCPListener).File()
				l.Close()
			} else {
				c, err := lab.ListenPacketIn(ns, "udp", "0.0.0.0:0")
				if err != nil {
					b.Fatal(err)
				}
				f, err = c.(*net.UDPConn).File()
				c.Close()
			}
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, f)
		}
		ns.Close()
	}
	return files
}

func init() { lab.RegisterInit("probe-holder", holderMain) }

// holderMain is a child that holds the descriptors it inherited, says
// "ready", and exits when its stdin closes.
func holderMain() {
	os.Stdout.WriteString("ready\n")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// holder starts a child of the session holding files (from fd 3 on) and
// returns its PID.
func holder(b testing.TB, s *lab.Session, files []*os.File) int {
	return startReady(b, s, "probe-holder", nil, files)
}

// startReady starts the registered child init as a process of the session,
// with env added and files from fd 3 on, waits for its "ready" line and
// returns its PID; it ends when its stdin closes, at the end of the test.
func startReady(b testing.TB, s *lab.Session, init string, env []string, files []*os.File) int {
	cmd := lab.Reexec(init, "child")
	cmd.Env = append(cmd.Env, env...)
	cmd.ExtraFiles = files
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	name := labtest.Name("child")
	p, err := s.StartProcess(name, cmd)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); s.Stop(name, 0) })
	var buf [6]byte
	if _, err := io.ReadFull(out, buf[:]); err != nil || string(buf[:]) != "ready\n" {
		b.Fatalf("%s did not start: %q %v", init, buf, err)
	}
	return p.PID
}
