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

// ReadFamily reads the parent of every process. A process's parent
// changes only if its parent dies, and then it leaves every tree it was
// in: so a parent read once is kept while the process lives, recognised by
// the inode of its /proc/PID directory, which the kernel gives anew to a
// new process under a reused PID. A refresh then reads /proc/PID/stat only
// for the processes started since the last one.
func ReadFamily() (*Family, error) {
	f := &Family{Time: time.Now(), kids: map[int][]int{}}
	dir, err := openat(unix.AT_FDCWD, []byte("/proc\x00"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open /proc: %w", err)
	}
	defer unix.Close(dir)
	parents.Lock()
	defer parents.Unlock()
	next := make(map[int]parentOf, len(parents.m))
	var path [32]byte
	var b [512]byte
	err = eachDirent(dir, func(name []byte, ino uint64) bool {
		pid, ok := atoi(name)
		if !ok {
			return true
		}
		e, ok := parents.m[pid]
		if !ok || e.ino != ino || ino == 0 {
			n, err := readFileAt(dir, append(append(path[:0], name...), "/stat\x00"...), b[:])
			if err != nil || n == 0 {
				return true // exited since the listing
			}
			ppid, ok := statPPID(b[:n])
			if !ok {
				return true
			}
			e = parentOf{ino, ppid}
		}
		next[pid] = e
		f.kids[e.ppid] = append(f.kids[e.ppid], pid)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	parents.m = next
	for _, k := range f.kids {
		slices.Sort(k)
	}
	return f, nil
}

// parents is what ReadFamily last read: each PID's parent, with the inode
// of its /proc directory then.
var parents = perPID[parentOf]{m: map[int]parentOf{}}

// perPID is a map by PID with its own lock: what the tree reader keeps
// between reads.
type perPID[T any] struct {
	sync.Mutex
	m map[int]T
}

type parentOf struct {
	ino  uint64
	ppid int
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
func (r *reader) tree(fam *Family, prune []int, maxAge time.Duration) {
	if fam == nil {
		var err error
		if fam, err = ReadFamily(); err != nil {
			r.s.fail("tree", err.Error())
			return
		}
	}
	root := TreeProc{PID: r.s.PID, PPID: r.s.PPID, Comm: r.s.Comm, Threads: r.s.NumThreads, RSS: r.s.VmRSS, FDs: r.s.FDs}
	if pss, err := pssOf(r.pd, root, maxAge); err != nil {
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
			got[i], keep[i] = readMember(members[i], maxAge)
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
func readMember(m member, maxAge time.Duration) (TreeProc, bool) {
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
	if pss, err := pssOf(pd, p, maxAge); err != nil {
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

// lastPSS is each process's last PSS read, for Options.PSSMaxAge.
var lastPSS = perPID[pssRead]{m: map[int]pssRead{}}

type pssRead struct {
	ppid int
	comm string
	rss  uint64
	pss  uint64
	at   time.Time
}

// pssOf is p's PSS: the last read, if it is younger than maxAge and the
// process (the same PID, parent and name) still has the RSS it had then;
// else read now.
func pssOf(pd int, p TreeProc, maxAge time.Duration) (uint64, error) {
	now := time.Now()
	if maxAge > 0 {
		lastPSS.Lock()
		v, ok := lastPSS.m[p.PID]
		lastPSS.Unlock()
		if ok && v.ppid == p.PPID && v.comm == p.Comm && v.rss == p.RSS && now.Sub(v.at) < maxAge {
			return v.pss, nil
		}
	}
	pss, err := readPSS(pd)
	if err == nil {
		lastPSS.Lock()
		if len(lastPSS.m) >= 4096 {
			clear(lastPSS.m)
		}
		lastPSS.m[p.PID] = pssRead{p.PPID, p.Comm, p.RSS, pss, now}
		lastPSS.Unlock()
	}
	return pss, err
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
	var pss uint64
	eachKey((*bp)[:n], func(key, val []byte) bool {
		if string(key) == "Pss" {
			pss = atou(val) * 1024
			return false
		}
		return true
	})
	return pss, nil
}

// workers is how many goroutines may read at once (Options.Serial: one).
func (r *reader) workers() int {
	if r.serial {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), 8)
}
