package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab/proxy"
)

// TestInspectTreeOfAProcessPerNamespaceProxyAddsUpAsProcSays starts the
// real binary's proxy with one process per namespace over three tenants,
// then holds `nslab inspect --tree --json` against what a person would add
// up from /proc: the descendants by the PPid of every /proc/*/status, and
// each one's Threads, VmRSS, smaps_rollup Pss and /proc/PID/fd entries.
func TestInspectTreeOfAProcessPerNamespaceProxyAddsUpAsProcSays(t *testing.T) {
	s := labtest.New(t)
	bin := nslabBin(t)
	var tenants []string
	for range 3 {
		ns, err := s.AddNetns(labtest.Name("it"))
		if err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, ns.Name())
		ns.Close()
	}
	ctl := filepath.Join(t.TempDir(), "ppn.sock")
	args := []string{"proxy", "--name", "ppn", "--strategy", "process-per-namespace", "--control", ctl,
		"--route", "{tenant}/tcp/127.0.0.1:80=host/tcp/127.0.0.1:9"}
	for _, n := range tenants {
		args = append(args, "--tenant", n)
	}
	// The proxy runs from a copy of the binary: PSS divides a page among
	// the processes that map it, and `nslab inspect` mapping the very file
	// the proxy runs would lower the tree's PSS while it looks.
	own := filepath.Join(t.TempDir(), "nslab-proxy-copy")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(own, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(own, args...)
	cmd.Env = append(os.Environ(), "NSLAB_RUN_DIR="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	var c *proxy.Client
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if c, err = proxy.Dial(ctl); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy did not answer on %s: %v", ctl, err)
		}
	}
	defer c.Close()
	if st, err := c.Stats(); err != nil || len(st.Procs) != 4 {
		t.Fatalf("proxy stats: %d processes (%v), want the parent and 3 children", len(st.Procs), err)
	}

	pid := cmd.Process.Pid
	before := labtest.TreeByHand(pid)
	out, stderr, code := nslab(t, "inspect", "--tree", "--json", strconv.Itoa(pid))
	if code != 0 {
		t.Fatalf("inspect: exit %d\n%s", code, stderr)
	}
	var rep inspectReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Processes) != 1 || rep.Processes[0].Tree == nil {
		t.Fatalf("not one view with a tree (%v):\n%s", err, out)
	}
	v := rep.Processes[0]
	tr := v.Tree
	h := labtest.TreeByHand(pid)
	if tr.Total.Processes != 4 || h.Procs != 4 {
		t.Errorf("%d processes in the tree, %d by hand; want the parent and one per tenant", tr.Total.Processes, h.Procs)
	}
	// Threads and descriptors come and go as the Go runtimes of a tree
	// that has just started and the control socket work: inspect must
	// read what /proc said just before or just after it, give or take a
	// little, not a different order.
	within := func(what string, got, a, b int) {
		if got < min(a, b)-4 || got > max(a, b)+4 {
			t.Errorf("%d %s in the tree; by hand %d before inspect, %d after", got, what, a, b)
		}
	}
	within("threads", tr.Total.Threads, before.Threads, h.Threads)
	within("fds", tr.Total.FDs, before.FDs, h.FDs)
	near := func(a, b uint64) bool { return a*100 <= b*110 && b*100 <= a*110 }
	if !near(tr.Total.RSS, h.RSS) || !near(tr.Total.PSS, h.PSS) {
		t.Errorf("tree RSS %d PSS %d; by hand RSS %d PSS %d (10%% apart at most: pages move)", tr.Total.RSS, tr.Total.PSS, h.RSS, h.PSS)
	}
	// The parent alone is the first process, and the parent's own figures.
	if p := tr.Parent(); p.PID != pid || p.Threads != v.NumThreads || tr.Total.Threads <= p.Threads {
		t.Errorf("parent alone %+v (snapshot %d threads), tree %d threads", p, v.NumThreads, tr.Total.Threads)
	}
	// Each child sits in its own tenant's namespace, as ip netns identify
	// would say.
	inTenant := map[string]bool{}
	for _, p := range tr.Procs[1:] {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p.PID))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range tenants {
			var st syscall.Stat_t
			if syscall.Stat("/run/netns/nslab-"+n, &st) == nil && link == fmt.Sprintf("net:[%d]", st.Ino) {
				inTenant[n] = true
			}
		}
	}
	if len(inTenant) != 3 {
		t.Errorf("children in tenants %v, want one in each of %v", inTenant, tenants)
	}
	table, _, _ := nslab(t, "inspect", "--tree", strconv.Itoa(pid))
	if !strings.Contains(table, "with its descendants: 4 processes") || !strings.Contains(table, "PROCESS TREE") {
		t.Errorf("the table lacks the tree:\n%s", table)
	}
}
