package probe_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

// shellTree starts sh with two children, one of which has two of its own:
// five processes, three levels.
func shellTree(t testing.TB) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", `sh -c 'sleep 600 & sleep 600 & wait' & sleep 600 & wait`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its process group: the tree
		cmd.Wait()
	})
	// The grandchildren exist once the inner sh has forked them.
	if !labtest.Eventually(5*time.Second, func() bool { return labtest.TreeByHand(cmd.Process.Pid).Procs == 5 }) {
		t.Fatal("the shell tree did not reach five processes")
	}
	return cmd.Process.Pid
}

func TestTreeSumsTheDescendantsAsProcSays(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("reads the smaps_rollup of its children: needs root (or ptrace rights)")
	}
	root := shellTree(t)
	// Pages move between two reads (a shell just started still touches its
	// stack and the loader's pages): a tolerance of 5%, and the two reads
	// again, a moment later, while they disagree by more.
	near := func(a, b uint64) bool { return a*100 <= b*105 && b*100 <= a*105 }
	var snap *probe.Snapshot
	var h labtest.TreeSums
	for try := 0; try < 5; try++ {
		var err error
		if snap, err = probe.Take(root, probe.Options{Tree: true}); err != nil {
			t.Fatal(err)
		}
		if len(snap.Errors) > 0 {
			t.Fatalf("errors: %v", snap.Errors)
		}
		h = labtest.TreeByHand(root)
		if near(snap.Tree.Total.RSS, h.RSS) && near(snap.Tree.Total.PSS, h.PSS) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	tr := snap.Tree
	if tr.Total.Processes != h.Procs || tr.Total.Threads != h.Threads || tr.Total.FDs != h.FDs {
		t.Errorf("probe: %d processes, %d threads, %d fds; by hand %d, %d, %d", tr.Total.Processes, tr.Total.Threads, tr.Total.FDs, h.Procs, h.Threads, h.FDs)
	}
	if !near(tr.Total.RSS, h.RSS) || !near(tr.Total.PSS, h.PSS) || tr.Total.PSS == 0 {
		t.Errorf("probe: RSS %d, PSS %d; by hand RSS %d, PSS %d", tr.Total.RSS, tr.Total.PSS, h.RSS, h.PSS)
	}
	// Five processes share sh's and sleep's pages: PSS counts them once,
	// RSS once per process.
	if tr.Total.PSS >= tr.Total.RSS {
		t.Errorf("PSS %d is not below RSS %d for five processes sharing pages", tr.Total.PSS, tr.Total.RSS)
	}
	depth := map[int]int{}
	for i, p := range tr.Procs {
		if !h.PIDs[p.PID] {
			t.Errorf("process %d is in the probe's tree, not under %d in /proc", p.PID, root)
		}
		if i == 0 && (p.PID != root || p.Depth != 0) {
			t.Errorf("the tree starts with %+v, not the process itself", p)
		}
		if i > 0 && p.Depth != depth[p.PPID]+1 {
			t.Errorf("process %d at depth %d under %d at depth %d", p.PID, p.Depth, p.PPID, depth[p.PPID])
		}
		depth[p.PID] = p.Depth
	}
	if tr.Parent().PID != root || tr.Parent().Threads != snap.NumThreads {
		t.Errorf("the parent alone: %+v", tr.Parent())
	}
}

func TestReadStatusIsWhatProcStatusSays(t *testing.T) {
	st, err := probe.ReadStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ppid, _ := labtest.StatusField(os.Getpid(), "PPid")
	if st.PPID != int(ppid) || st.PPID != os.Getppid() || st.Threads < 1 || st.VmRSS == 0 || st.RssAnon == 0 || st.RssAnon > st.VmRSS {
		t.Errorf("ReadStatus(self) = %+v", st)
	}
	if len(st.NSpid) == 0 || st.NSpid[len(st.NSpid)-1] != os.Getpid() {
		t.Errorf("NSpid %v does not end in this process's PID %d", st.NSpid, os.Getpid())
	}
	if st.UID != int64(os.Getuid()) || st.GID != int64(os.Getgid()) {
		t.Errorf("ReadStatus(self): uid %d gid %d, want %d %d", st.UID, st.GID, os.Getuid(), os.Getgid())
	}
	if os.Geteuid() == 0 { // and one whose ids are not 0
		c := exec.Command("setpriv", "--reuid=65534", "--regid=65533", "--clear-groups", "sleep", "10")
		if err := c.Start(); err == nil {
			defer func() { c.Process.Kill(); c.Wait() }()
			seen := false
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				if st, err := probe.ReadStatus(c.Process.Pid); err == nil && st.Name == "sleep" {
					if st.UID != 65534 || st.GID != 65533 {
						t.Errorf("ReadStatus(setpriv'd sleep): uid %d gid %d, want 65534 65533", st.UID, st.GID)
					}
					seen = true
					break
				}
			}
			if !seen {
				t.Error("the setpriv'd sleep never read as sleep")
			}
		}
	}
	max, _ := os.ReadFile("/proc/sys/kernel/pid_max")
	n, _ := strconv.Atoi(strings.TrimSpace(string(max)))
	if _, err := probe.ReadStatus(n + 1); err == nil || !strings.Contains(err.Error(), "no such process") {
		t.Errorf("ReadStatus(pid_max+1) = %v, want no such process", err)
	}
}

// A pruned descendant and its own are left out: the lab's process does not
// count the proxies it shows on their own rows.
func TestTreeLeavesPrunedSubtreesOut(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("reads the smaps_rollup of its children: needs root (or ptrace rights)")
	}
	root := shellTree(t)
	full, err := probe.Take(root, probe.Options{Tree: true})
	if err != nil {
		t.Fatal(err)
	}
	inner := 0
	for _, p := range full.Tree.Procs {
		if p.Depth == 1 && p.Comm == "sh" {
			inner = p.PID
		}
	}
	if inner == 0 {
		t.Fatalf("no inner sh in %+v", full.Tree.Procs)
	}
	pruned, err := probe.Take(root, probe.Options{Tree: true, Prune: []int{inner}})
	if err != nil {
		t.Fatal(err)
	}
	if n := pruned.Tree.Total.Processes; n != 2 {
		t.Errorf("pruning the inner sh and its two sleeps leaves %d processes, want 2: %+v", n, pruned.Tree.Procs)
	}
}

func init() { lab.RegisterInit("probe-tree", treeMain) }

// treeMain starts $PROBE_TREE_KIDS holders (Go processes, as a
// process-per-namespace proxy's children are), says "ready" when they all
// have, and exits, taking them with it, when its stdin closes.
func treeMain() {
	n, _ := strconv.Atoi(os.Getenv("PROBE_TREE_KIDS"))
	var ins []io.Closer
	var cmds []*exec.Cmd
	for range n {
		cmd := lab.Reexec("probe-holder", "kid")
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			os.Exit(1)
		}
		if l, err := bufio.NewReader(out).ReadString('\n'); err != nil || l != "ready\n" {
			os.Exit(1)
		}
		ins, cmds = append(ins, in), append(cmds, cmd)
	}
	os.Stdout.WriteString("ready\n")
	io.Copy(io.Discard, os.Stdin)
	for i := range ins {
		ins[i].Close()
		cmds[i].Wait()
	}
	os.Exit(0)
}

// processTree starts a process with kids Go children, as a session
// process, and returns its PID.
func processTree(b testing.TB, s *lab.Session, kids int) int {
	return startReady(b, s, "probe-tree", []string{"PROBE_TREE_KIDS=" + strconv.Itoa(kids)}, nil)
}

// BenchmarkTree is one snapshot of a process with 100 Go children, as the
// panels take of a process-per-namespace proxy at 100 tenants (budget
// 20 ms): the family read from /proc, then each process's status,
// smaps_rollup and descriptor count.
func BenchmarkTree(b *testing.B) {
	s := labtest.New(b)
	pid := processTree(b, s, 100)
	check := func(b *testing.B, snap *probe.Snapshot) {
		if snap.Tree == nil || snap.Tree.Total.Processes != 101 || len(snap.Errors) > 0 {
			b.Fatalf("tree of %d: %+v, errors %v", pid, snap.Tree, snap.Errors)
		}
	}
	b.Run("101-processes", func(b *testing.B) {
		c0 := labtest.CPUSelf()
		for i := 0; b.Loop(); i++ {
			snap, err := probe.Take(pid, probe.Options{Tree: true})
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				check(b, snap)
			}
		}
		// On a shared machine the wall time grows with the load; the CPU
		// time it cost this process (both cores' worth) does not as much.
		b.ReportMetric(float64((labtest.CPUSelf()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	})
	b.Run("101-processes-family-given", func(b *testing.B) {
		fam, err := probe.ReadFamily()
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			snap, err := probe.Take(pid, probe.Options{Tree: true, Family: fam})
			if err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				check(b, snap)
			}
		}
	})
	b.Run("family", func(b *testing.B) {
		for b.Loop() {
			if _, err := probe.ReadFamily(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
