package probe

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// ReadStatus reads /proc/PID/status. A kernel thread has no VmRSS line: it
// has no memory of its own, and 0 is the truth.
func ReadStatus(pid int) (Status, error) {
	var st Status
	pd, err := openProc(pid)
	if err != nil {
		return st, err
	}
	defer unix.Close(pd)
	if err := readStatusAt(pd, &st, true); err != nil {
		if err == unix.ESRCH || err == unix.ENOENT {
			return st, fmt.Errorf("process %d: %w", pid, ErrNoProcess)
		}
		return st, fmt.Errorf("read /proc/%d/status: %w", pid, err)
	}
	return st, nil
}

var statusBufs = sync.Pool{New: func() any { b := make([]byte, 8192); return &b }}

// readStatusAt reads the status file of the open /proc/PID directory pd
// into st; the NSpid list only when asked (it allocates). An exiting task
// reads empty: that is ESRCH.
func readStatusAt(pd int, st *Status, nspid bool) error {
	bp := statusBufs.Get().(*[]byte)
	defer statusBufs.Put(bp)
	n, err := readFileAt(pd, pathStatus, *bp)
	if err != nil {
		return err
	}
	if n == 0 {
		return unix.ESRCH
	}
	parseStatus((*bp)[:n], st, nspid)
	return nil
}

// readFileAt reads the file at path under dir into b (as much as fits)
// and returns how many bytes it read.
func readFileAt(dir int, path, b []byte) (int, error) {
	fd, err := openat(dir, path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	n := 0
	for n < len(b) {
		m, err := unix.Read(fd, b[n:])
		if err != nil {
			return 0, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// eachKey calls fn with the key and the value (spaces trimmed) of each
// "Key: value" line of b, until fn returns false.
func eachKey(b []byte, fn func(key, val []byte) bool) {
	for len(b) > 0 {
		line := b
		if i := indexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if k := indexByte(line, ':'); k >= 0 && !fn(line[:k], trimSpace(line[k+1:])) {
			return
		}
	}
}

func parseStatus(b []byte, st *Status, nspid bool) {
	eachKey(b, func(key, val []byte) bool {
		switch string(key) { // no allocation: the compiler special-cases this
		case "Name":
			st.Name = string(val)
		case "PPid":
			st.PPID = int(atou(val))
		case "Threads":
			st.Threads = int(atou(val))
		case "VmRSS":
			st.VmRSS = atou(val) * 1024 // "1234 kB"
		case "VmHWM":
			st.VmHWM = atou(val) * 1024
		case "RssAnon":
			st.RssAnon = atou(val) * 1024
		case "Uid":
			st.UID = int64(atou(val)) // real, effective, saved, fs: the first
		case "Gid":
			st.GID = int64(atou(val))
		case "NSpid":
			if nspid {
				st.NSpid = st.NSpid[:0]
				for _, f := range fields(val) {
					st.NSpid = append(st.NSpid, int(atou(f)))
				}
			}
		}
		return true
	})
}

// fields splits b at runs of spaces and tabs.
func fields(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
			b = b[1:]
		}
		i := 0
		for i < len(b) && b[i] != ' ' && b[i] != '\t' {
			i++
		}
		if i > 0 {
			out = append(out, b[:i])
		}
		b = b[i:]
	}
	return out
}
