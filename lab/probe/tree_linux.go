package probe

import (
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

var pathSmapsRollup = []byte("smaps_rollup\x00")

// ReadFamily reads the parent of every process.
func ReadFamily() (*Family, error) {
	f := &Family{Time: time.Now(), kids: map[int][]int{}}
	dir, err := openat(unix.AT_FDCWD, []byte("/proc\x00"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open /proc: %w", err)
	}
	defer unix.Close(dir)
	var path [32]byte
	var b [512]byte
	err = eachEntry(dir, func(name []byte) bool {
		pid, ok := atoi(name)
		if !ok {
			return true
		}
		n, err := readFileAt(dir, append(append(path[:0], name...), "/stat\x00"...), b[:])
		if err != nil || n == 0 {
			return true // exited since the listing
		}
		if ppid, ok := statPPID(b[:n]); ok {
			f.kids[ppid] = append(f.kids[ppid], pid)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	for _, k := range f.kids {
		slices.Sort(k)
	}
	return f, nil
}

// statPPID is field 4 of /proc/PID/stat: "PID (comm) S PPID ...". The comm
// may hold ')' and spaces; the fields resume after the last ')'.
func statPPID(b []byte) (int, bool) {
	i := len(b) - 1
	for i >= 0 && b[i] != ')' {
		i--
	}
	if i < 0 || i+4 >= len(b) {
		return 0, false
	}
	rest := b[i+4:] // past ") S "
	j := indexByte(rest, ' ')
	if j < 0 {
		return 0, false
	}
	return atoi(rest[:j])
}

// tree reads the snapshot's process's descendants and every one's PSS:
// the root's threads, RSS and fds are the snapshot's own.
func (r *reader) tree(fam *Family, prune []int) {
	if fam == nil {
		var err error
		if fam, err = ReadFamily(); err != nil {
			r.s.fail("tree", err.Error())
			return
		}
	}
	root := TreeProc{PID: r.s.PID, PPID: r.s.PPID, Comm: r.s.Comm, Threads: r.s.NumThreads, RSS: r.s.VmRSS, FDs: r.s.FDs}
	if pss, err := readPSS(r.pd); err != nil {
		root.Err = "PSS: " + r.explain(err)
	} else {
		root.PSS = pss
	}
	t := &Tree{Procs: []TreeProc{root}}
	members := fam.descendants(r.s.PID, prune)
	got := make([]TreeProc, len(members))
	keep := make([]bool, len(members))
	read := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			got[i], keep[i] = readMember(members[i])
		}
	}
	// The cost is syscalls (smaps_rollup walks the page tables): a 101
	// process tree takes half the time on two cores.
	if workers := min(r.workers(), 1+len(members)/16); workers > 1 {
		var wg sync.WaitGroup
		per := (len(members) + workers - 1) / workers
		for lo := 0; lo < len(members); lo += per {
			wg.Go(func() { read(lo, min(lo+per, len(members))) })
		}
		wg.Wait()
	} else {
		read(0, len(members))
	}
	gone := map[int]bool{}
	unread := 0
	for i, m := range members {
		// A process that exited between the family's scan and its read
		// takes its descendants out with it: they were reparented.
		if !keep[i] || gone[m.ppid] {
			gone[m.pid] = true
			continue
		}
		if got[i].Err != "" {
			unread++
		}
		t.Procs = append(t.Procs, got[i])
	}
	if root.Err != "" {
		unread++
	}
	t.sum()
	if unread > 0 {
		r.s.fail("tree", fmt.Sprintf("%d of %d processes not fully read (see their errors): the totals leave their part out", unread, len(t.Procs)))
	}
	r.s.Tree = t
}

// readMember reads one descendant on its own. It reports false when the
// process is gone, or its PID now names a process with another parent (the
// PID was reused since the family was read): neither is part of the tree.
func readMember(m member) (TreeProc, bool) {
	p := TreeProc{PID: m.pid, PPID: m.ppid, Depth: m.depth}
	pd, err := openProcDir(m.pid)
	if err != nil {
		return p, false
	}
	defer unix.Close(pd)
	var st Status
	if err := readStatusAt(pd, &st, false); err != nil || st.PPID != m.ppid {
		return p, false
	}
	p.Comm, p.Threads, p.RSS = st.Name, st.Threads, st.VmRSS
	var errs []string
	if pss, err := readPSS(pd); err != nil {
		errs = append(errs, "PSS: "+memberErr(err))
	} else {
		p.PSS = pss
	}
	if n, err := countFDs(pd, false); err != nil {
		errs = append(errs, "fds: "+memberErr(err))
	} else {
		p.FDs = n
	}
	if len(errs) > 0 {
		if !stillThere(pd) {
			return p, false // it exited while being read
		}
		sort.Strings(errs)
		p.Err = errs[0]
		if len(errs) > 1 {
			p.Err += "; " + errs[1]
		}
	}
	return p, true
}

func memberErr(err error) string {
	if err == unix.EACCES || err == unix.EPERM {
		return permissionDenied()
	}
	return err.Error()
}

// stillThere reports whether the process behind pd is alive (not a zombie).
func stillThere(pd int) bool {
	r := reader{pd: pd}
	return !r.gone()
}

var rollupBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// readPSS reads the Pss line of /proc/PID/smaps_rollup (Linux 4.14+): the
// kernel walks the process's page tables and divides each page by the
// number of processes mapping it. A kernel thread maps nothing: 0.
func readPSS(pd int) (uint64, error) {
	bp := rollupBufs.Get().(*[]byte)
	defer rollupBufs.Put(bp)
	n, err := readFileAt(pd, pathSmapsRollup, *bp)
	if err != nil {
		return 0, err
	}
	b := (*bp)[:n]
	for len(b) > 0 {
		line := b
		if i := indexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) > 4 && string(line[:4]) == "Pss:" {
			return atou(trimSpace(line[4:])) * 1024, nil
		}
	}
	return 0, nil
}

// workers is how many goroutines may read at once.
func (r *reader) workers() int { return min(runtime.GOMAXPROCS(0), 8) }
