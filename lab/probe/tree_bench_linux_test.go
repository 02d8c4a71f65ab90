package probe_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

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
		c0 := cpuTime()
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
		b.ReportMetric(float64((cpuTime()-c0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
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

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
