package probe_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

// What the probe remembers between snapshots never makes it report a
// socket that is gone: a descriptor given another socket is read for what
// it holds now, and a process whose descriptors changed is read again even
// when it may reuse its last sockets (Options.SocketsMaxAge).
func TestRememberedSocketsFollowTheDescriptors(t *testing.T) {
	s := labtest.New(t)
	var inos []uint64
	var files []*os.File
	for range 2 {
		ns, err := s.AddNetns(labtest.Name("rs"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := lab.ListenPacketIn(ns, "udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := c.(*net.UDPConn).File()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		inos, files = append(inos, ns.Inode()), append(files, f)
		ns.Close()
	}
	// A shell holding the sockets at fds 3 and 4 that runs what it reads.
	sh := exec.Command("bash", "-c", `while read -r l; do eval "$l"; echo ok; done`)
	sh.ExtraFiles = files
	in, _ := sh.StdinPipe()
	outPipe, _ := sh.StdoutPipe()
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); sh.Wait() })
	out := bufio.NewReader(outPipe)
	do := func(cmd string) {
		t.Helper()
		fmt.Fprintln(in, cmd)
		if l, err := out.ReadString('\n'); err != nil || l != "ok\n" {
			t.Fatalf("%s: %q %v", cmd, l, err)
		}
	}
	at := func(opt probe.Options) map[int]uint64 {
		t.Helper()
		snap, err := probe.Take(sh.Process.Pid, opt)
		if err != nil || snap.Errors["sockets"] != "" {
			t.Fatalf("snapshot: %v %v", err, snap.Errors)
		}
		m := map[int]uint64{}
		for _, k := range snap.Sockets {
			m[k.FD] = k.NetNS
		}
		return m
	}
	long := probe.Options{Sockets: true, SocketsMaxAge: 1 << 40}
	if got := at(long); got[3] != inos[0] || got[4] != inos[1] {
		t.Fatalf("fd 3 in %d, fd 4 in %d; want %d and %d", got[3], got[4], inos[0], inos[1])
	}
	// fd 3 now holds fd 4's socket: the same descriptors, another socket.
	do("exec 3>&4")
	if got := at(probe.Options{Sockets: true}); got[3] != inos[1] {
		t.Errorf("after fd 3 was given the socket of fd 4: fd 3 in %d, want %d", got[3], inos[1])
	}
	// One descriptor fewer: read again, however recent the last read.
	do("exec 4>&-")
	got := at(long)
	if _, ok := got[4]; ok || got[3] != inos[1] {
		t.Errorf("after fd 4 closed: %v, want only fd 3 in %d", got, inos[1])
	}
	io.WriteString(in, "exit\n")
}
