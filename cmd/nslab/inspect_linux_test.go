package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

const nobody = 65534

// TestInspectAsAnotherUserSaysWhatItCannotRead runs the real binary as
// nobody on a root process (whose namespace links and descriptors nobody
// may not read) and on one of nobody's own, and checks that the unreadable
// is reported per field, never as a 0, while what may be read is named.
func TestInspectAsAnotherUserSaysWhatItCannotRead(t *testing.T) {
	labtest.RequireRoot(t)
	bin := learnerBin(t) // nobody may run it there
	rootPID := sleeper(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS})
	nobodyPID := sleeper(t, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}})

	run := func(t *testing.T, asNobody bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"inspect"}, args...)...)
		if asNobody {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		}
		cmd.Dir = "/"
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("nslab %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	views := func(t *testing.T, asNobody bool, pid int) inspectView {
		t.Helper()
		var rep inspectReport
		out := run(t, asNobody, strconv.Itoa(pid), "--json", "--sockets", "--threads")
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Processes) != 1 || rep.Schema != jsonSchema {
			t.Fatalf("not one view (%v):\n%s", err, out)
		}
		return rep.Processes[0]
	}

	t.Run("a root process: namespaces and descriptors are errors, not zeros", func(t *testing.T) {
		v := views(t, true, rootPID)
		if len(v.Namespaces) != 0 || v.FDs != 0 || len(v.Sockets) != 0 {
			t.Errorf("nobody read what it may not: %+v", v)
		}
		for _, field := range []string{"ns.net", "ns.uts", "fds", "sockets"} {
			if !strings.Contains(v.Errors[field], "permission denied") {
				t.Errorf("errors[%s] = %q, want permission denied", field, v.Errors[field])
			}
		}
		if v.NumThreads != 1 || v.VmRSS == 0 {
			t.Errorf("status is world-readable, yet %d threads, rss %d", v.NumThreads, v.VmRSS)
		}
		table := run(t, true, strconv.Itoa(rootPID))
		for _, want := range []string{"open file descriptors unknown", "sockets unknown", "could not read", "run as root"} {
			if !strings.Contains(table, want) {
				t.Errorf("table lacks %q:\n%s", want, table)
			}
		}
		if strings.Contains(table, "0 file descriptors") {
			t.Errorf("table shows a count it could not read:\n%s", table)
		}
	})
	t.Run("nobody's own process: the initial namespaces are host without reading PID 1", func(t *testing.T) {
		v := views(t, true, nobodyPID)
		if len(v.Errors) != 0 {
			t.Errorf("errors: %v", v.Errors)
		}
		for _, n := range v.Namespaces {
			if n.DiffersFromInit {
				t.Errorf("%s differs from PID 1: %+v", n.Type, n)
			}
			if n.Name != "host" && n.Type != "net" && n.Type != "mnt" { // net, mnt: reserved since 6.18 only
				t.Errorf("%s named %q, want host", n.Type, n.Name)
			}
		}
	})
	t.Run("root sees the root process's own uts namespace", func(t *testing.T) {
		v := views(t, false, rootPID)
		if len(v.Errors) != 0 || v.FDs == 0 {
			t.Errorf("errors %v, %d fds", v.Errors, v.FDs)
		}
		for _, n := range v.Namespaces {
			if n.DiffersFromInit != (n.Type == "uts") {
				t.Errorf("%s: differs from PID 1 = %v", n.Type, n.DiffersFromInit)
			}
		}
	})
}

// sleeper starts a sleep with attr and returns its PID; it is killed at
// the end of the test.
func sleeper(t *testing.T, attr *syscall.SysProcAttr) int {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd.Process.Pid
}

func TestInspectRefusesWhatIsNotAPID(t *testing.T) {
	for _, arg := range []string{"abc", "0", "-5", "12x"} {
		t.Run(arg+" is refused with exit 2", func(t *testing.T) {
			_, stderr, code := nslab(t, "inspect", "1", "--", arg)
			if code != 2 || !strings.Contains(stderr, "is not a PID") {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}

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
		tenants = append(tenants, labtest.Netns(t, s, labtest.Name("it"), false).Name())
	}
	ctl := filepath.Join(t.TempDir(), "ppn.sock")
	args := []string{"--name", "ppn", "--strategy", "process-per-namespace", "--control", ctl,
		"--route", "{tenant}/tcp/127.0.0.1:80=host/tcp/127.0.0.1:9"}
	for _, n := range tenants {
		args = append(args, "--tenant", n)
	}
	// The proxy runs from a copy of the binary: PSS divides a page among
	// the processes that map it, and `nslab inspect` mapping the very file
	// the proxy runs would lower the tree's PSS while it looks.
	own := filepath.Join(t.TempDir(), "nslab-proxy-copy")
	if out, err := exec.Command("cp", bin, own).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	cmd := startProxy(t, own, []string{"NSLAB_RUN_DIR=" + t.TempDir()}, args...)
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	if st, err := proxyServing(t, ctl, nil).Stats(); err != nil || len(st.Procs) != 4 {
		t.Fatalf("proxy stats: %d processes (%v), want the parent and 3 children", len(st.Procs), err)
	}

	pid := cmd.Process.Pid
	// Pages move as the Go runtimes of a tree that has just started settle:
	// inspect's figures against the read by hand just after it, 10% apart
	// at most, read again a moment later while they are further apart.
	var v inspectView
	before, h := labtest.SettledTree(pid, 10, func() (rss, pss uint64) {
		var rep inspectReport
		if nslabJSON(t, nil, &rep, "inspect", "--tree", "--json", strconv.Itoa(pid)); len(rep.Processes) != 1 || rep.Processes[0].Tree == nil {
			t.Fatalf("not one view with a tree: %+v", rep)
		}
		v = rep.Processes[0]
		return v.Tree.Total.RSS, v.Tree.Total.PSS
	})
	tr := v.Tree
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
	if !labtest.Near(tr.Total.RSS, h.RSS, 10) || !labtest.Near(tr.Total.PSS, h.PSS, 10) {
		t.Errorf("tree RSS %d PSS %d; by hand RSS %d PSS %d (10%% apart at most: pages move)", tr.Total.RSS, tr.Total.PSS, h.RSS, h.PSS)
	}
	// The parent alone is the first process, and the parent's own figures.
	if p := tr.Parent(); p.PID != pid || p.Threads != v.NumThreads || tr.Total.Threads <= p.Threads {
		t.Errorf("parent alone %+v (snapshot %d threads), tree %d threads", p, v.NumThreads, tr.Total.Threads)
	}
	// Each child sits in its own tenant's namespace, as ip netns identify
	// says.
	inTenant := map[string]bool{}
	for _, p := range tr.Procs[1:] {
		out := labtest.IP(t, "netns", "identify", strconv.Itoa(p.PID))
		for _, n := range tenants {
			if slices.Contains(strings.Fields(string(out)), lab.SysName(n)) {
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

// nslab inspect --holders, by /run/netns name and as JSON: a socket the
// lab holds in a namespace is named beside the bind mount, and lsns's
// blind spot is stated.
func TestInspectHolders(t *testing.T) {
	s := labtest.New(t)
	name := labtest.Name("ih")
	n := labtest.Netns(t, s, name, false)
	labtest.Listen(t, n, "tcp", "127.0.0.1:7412")
	n.Close() // the test's own handle would be one more holder
	var out bytes.Buffer
	if err := runHolders(&out, name, "net", false); err != nil {
		t.Fatal(err)
	}
	// (Other tests' private mount namespaces may hold copies of the mount
	// too: each is a holder, so mounts are counted as at least one.)
	for _, want := range []string{" 1 socket\n", "mount    /run/netns/" + lab.SysName(name), "tcp 127.0.0.1:7412 LISTEN", "lsns does not list it"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := runHolders(&out, "/run/netns/"+lab.SysName(name), "net", true); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Path    string `json:"path"`
		Type    string `json:"type"`
		Holders []struct {
			Kind string `json:"kind"`
		} `json:"holders"`
		Lsns bool `json:"listed_by_lsns"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Type != "net" || rep.Lsns {
		t.Errorf("JSON %+v (%v):\n%s", rep, err, out.String())
	}
	kinds := map[string]int{}
	for _, h := range rep.Holders {
		kinds[h.Kind]++
	}
	if kinds["socket"] != 1 || kinds["mount"] < 1 || len(kinds) != 2 {
		t.Errorf("JSON holders by kind %v, want mounts and one socket:\n%s", kinds, out.String())
	}
	var ee *exitError
	if err := runHolders(&out, "nosuch-"+name, "net", false); !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "ip netns list") {
		t.Errorf("an unknown name: %v, want a usage error (exit 2) that says what to give", err)
	}
}
