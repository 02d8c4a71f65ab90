package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab/probe"
	"github.com/nslab/nslab/lab/room"
)

// roomBench is `nslab bench serve`: what a room of learners costs.
type roomBench struct {
	Learners       int     `json:"learners"`
	Lesson         string  `json:"lesson"`
	Processes      int     `json:"processes"`
	Threads        int     `json:"threads"`
	RSSMiB         float64 `json:"rss_per_learner_mib"`          // every process of the learner's account, plus 1/N of serve's
	PSSMiB         float64 `json:"pss_per_learner_mib"`          // the same, shared pages split among their users
	MemAvailMiB    float64 `json:"memavailable_per_learner_mib"` // what the machine gave up, by /proc/meminfo
	ServeRSSMiB    float64 `json:"serve_rss_mib"`
	CPUPercent     float64 `json:"cpu_per_learner_percent"` // of one core, idle with panels at 1 Hz
	RoomCPUPercent float64 `json:"room_cpu_percent"`
	ThreadsEach    float64 `json:"threads_per_learner"`
	JoinSeconds    float64 `json:"join_all_s"` // until every learner's TUI reported
}

func setupBenchServe() {
	var (
		learners        int
		lesson          string
		settle, measure time.Duration
		asJSON          bool
		prefix          string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "What a room costs: N learners over SSH in a lesson, idle with panels at 1 Hz: RSS, PSS, threads, CPU per learner",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if learners < 1 || learners > 500 {
				return usageErrorf("--learners %d: give 1 to 500", learners)
			}
			direct := cmd.CalledAs() != ""
			if os.Geteuid() != 0 {
				if !direct {
					fmt.Fprintln(cmd.OutOrStdout(), "bench serve: skipped (needs root, to start the learner accounts)")
					return nil
				}
				return &exitError{code: exitFailure, err: errors.New("nslab bench serve starts nslab serve, which needs root")}
			}
			if _, err := room.LookupAccounts(prefix, learners); err != nil {
				if !direct {
					fmt.Fprintf(cmd.OutOrStdout(), "bench serve: skipped: %v\n", err)
					return nil
				}
				return &exitError{code: exitFailure, err: err}
			}
			r, err := benchRoom(learners, lesson, prefix, settle, measure)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, struct {
					Schema int       `json:"schema"`
					Room   roomBench `json:"room"`
				}{jsonSchema, r})
			}
			fmt.Fprintf(out, "room of %d learners in %s, step 1 run, panels at 1 Hz, idle %s\n", r.Learners, r.Lesson, measure)
			fmt.Fprintf(out, "  processes %d, threads %d (%.1f a learner); all joined in %.1fs\n", r.Processes, r.Threads, r.ThreadsEach, r.JoinSeconds)
			fmt.Fprintf(out, "  per learner: RSS %.1f MiB, PSS %.1f MiB, MemAvailable %.1f MiB; serve itself RSS %.1f MiB\n", r.RSSMiB, r.PSSMiB, r.MemAvailMiB, r.ServeRSSMiB)
			fmt.Fprintf(out, "  CPU idle: %.2f %% of a core per learner, %.1f %% for the room\n", r.CPUPercent, r.RoomCPUPercent)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&learners, "learners", 30, "learners in the room")
	f.StringVar(&lesson, "lesson", "veth", "the lesson each learner opens (and runs step 1 of)")
	f.StringVar(&prefix, "accounts", "nslab-learner", "learner accounts PREFIX1..N (they must exist)")
	f.DurationVar(&settle, "settle", 10*time.Second, "wait after the last learner ran step 1")
	f.DurationVar(&measure, "measure", 30*time.Second, "how long CPU is measured")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	benchCmd.AddCommand(cmd)
}

// benchRoom starts nslab serve on loopback, puts n learners in lesson
// (step 1 run), waits settle, and measures.
func benchRoom(n int, lesson, prefix string, settle, measure time.Duration) (roomBench, error) {
	res := roomBench{Learners: n, Lesson: lesson}
	dir, err := os.MkdirTemp("", "nslab-bench-serve-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	code, boss := randomHex(), randomHex()
	memBefore := memAvailable()
	serve := exec.Command("/proc/self/exe", "serve", "--listen", "127.0.0.1:0", "--room-code", code, "--instructor-code", boss,
		"--host-key", filepath.Join(dir, "host_key"), "--max-learners", strconv.Itoa(n), "--accounts", prefix)
	serve.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	serve.Stderr = os.Stderr
	addr, err := startServe(serve, nil)
	if serve.Process != nil {
		defer func() {
			serve.Process.Signal(syscall.SIGTERM)
			serve.Wait()
		}()
	}
	if err != nil {
		return res, err
	}
	bc, err := dialRoom(addr, "instructor", boss)
	if err != nil {
		return res, err
	}
	defer bc.Close()
	t0 := time.Now()
	conns := make([]*learnerConn, n)
	for i := range conns {
		if conns[i], err = joinRoom(addr, fmt.Sprintf("bench%03d", i+1), code); err != nil {
			return res, err
		}
		defer conns[i].close()
	}
	for _, lc := range conns {
		if _, err := waitLearner(bc, lc.name, "the lab to start", 5*time.Minute, func(l learnerJSON) bool { return l.Reporting }); err != nil {
			return res, err
		}
	}
	res.JoinSeconds = time.Since(t0).Seconds()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for _, lc := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- openStep(bc, lc, lesson) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return res, err
		}
	}
	time.Sleep(settle)
	// The room is nslab serve and what descends from it: not whatever
	// else runs as the learner accounts (other labs, other tests).
	pids := descendants(serve.Process.Pid)
	res.Processes = len(pids)
	var rss, pss int
	for _, p := range pids {
		r, s := smapsRollup(p)
		rss, pss = rss+r, pss+s
		if st, err := probe.ReadStatus(p); err == nil {
			res.Threads += st.Threads
		}
		if p == serve.Process.Pid {
			res.ServeRSSMiB = float64(r) / 1024
		}
	}
	res.MemAvailMiB = float64(memBefore-memAvailable()) / 1024 / float64(n)
	c0, w0 := cpuTicks(pids), time.Now()
	time.Sleep(measure)
	ticks := cpuTicks(pids) - c0
	res.RoomCPUPercent = float64(ticks) / 100 / time.Since(w0).Seconds() * 100 // USER_HZ = 100
	res.CPUPercent = res.RoomCPUPercent / float64(n)
	res.RSSMiB = float64(rss) / 1024 / float64(n)
	res.PSSMiB = float64(pss) / 1024 / float64(n)
	res.ThreadsEach = float64(res.Threads) / float64(n)
	return res, nil
}

func randomHex() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// descendants is pid and every process under it, by the parents /proc
// names (a learner's orphans go to their sandbox's init, still inside).
func descendants(pid int) []int {
	out := []int{pid}
	fam, err := probe.ReadFamily()
	if err != nil {
		return out
	}
	for i := 0; i < len(out); i++ {
		out = append(out, fam.Children(out[i])...)
	}
	return out
}

// smapsRollup is a process's RSS and PSS in KiB.
func smapsRollup(pid int) (rss, pss int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "Rss:":
			rss = v
		case "Pss:":
			pss = v
		}
	}
	return rss, pss
}

// cpuTicks sums user and system time (clock ticks) of pids.
func cpuTicks(pids []int) int {
	total := 0
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 12 {
			u, _ := strconv.Atoi(f[11])
			k, _ := strconv.Atoi(f[12])
			total += u + k
		}
	}
	return total
}

// memAvailable is MemAvailable of /proc/meminfo, in KiB.
func memAvailable() int {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
