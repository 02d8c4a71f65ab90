package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nslab/nslab/lab/proxy"
)

// procFig is what a process costs, read from /proc as ps and smem would.
type procFig struct {
	Threads int
	RSS     int64         // bytes, from smaps_rollup: every page mapped, shared or not
	PSS     int64         // bytes, from smaps_rollup: shared pages split among their users
	CPU     time.Duration // user + system, its own and its waited-for children's
}

// clkTck is USER_HZ: /proc/PID/stat counts CPU in these.
const clkTck = 100

func readProc(pid int) (procFig, error) {
	var f procFig
	st, err := proxy.ReadProcStats(pid, "")
	if err != nil {
		return f, err
	}
	f.Threads = st.Threads
	if sm, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(sm))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Rss:"); ok {
				kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
				f.RSS = kb << 10
			}
			if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
				kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
				f.PSS = kb << 10
				break // Rss comes before it
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return f, err
	}
	// Fields after the command (which may hold spaces) in parentheses:
	// utime is the 14th field, stime, cutime, cstime the next three.
	_, rest, _ := bytes.Cut(stat, []byte(") "))
	fs := strings.Fields(string(rest))
	if len(fs) > 14 {
		var ticks int64
		for _, s := range fs[11:15] {
			v, _ := strconv.ParseInt(s, 10, 64)
			ticks += v
		}
		f.CPU = time.Duration(ticks) * time.Second / clkTck
	}
	return f, nil
}

// readProcs sums the figures of pids (those that exited are skipped).
func readProcs(pids []int) procFig {
	var sum procFig
	for _, pid := range pids {
		f, err := readProc(pid)
		if err != nil {
			continue
		}
		sum.Threads += f.Threads
		sum.RSS += f.RSS
		sum.PSS += f.PSS
		sum.CPU += f.CPU
	}
	return sum
}

// childrenOf lists the processes whose parent is one of pids (socat's
// forked connections).
func childrenOf(pids []int) []int {
	parent := map[int]bool{}
	for _, p := range pids {
		parent[p] = true
	}
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		_, rest, _ := bytes.Cut(st, []byte(") "))
		fs := strings.Fields(string(rest))
		if len(fs) > 1 {
			if pp, _ := strconv.Atoi(fs[1]); parent[pp] {
				out = append(out, pid)
			}
		}
	}
	return out
}
