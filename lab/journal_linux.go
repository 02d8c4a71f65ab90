package lab

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// openJournal creates this session's journal under dir and holds an
// exclusive flock on it for the life of the process: the kernel drops the
// lock when the process dies, however it dies, so Cleanup can tell a live
// session from a dead one without trusting PIDs.
func openJournal(dir, id string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create journal directory %s: %w", dir, errnoKind(unwrapPathErr(err)))
	}
	path := filepath.Join(dir, id+".journal")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal %s: %w", path, errnoKind(unwrapPathErr(err)))
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock journal %s: %w", path, err)
	}
	j := &Journal{f: f, path: path}
	start, _ := procStartTime(os.Getpid())
	exe, _ := os.Executable()
	hdr := Entry{Op: "session", PID: os.Getpid(), UID: LearnerUID(), Start: start, Path: exe, Time: time.Now().UTC()}
	b, _ := json.Marshal(hdr)
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write journal %s: %w", path, err)
	}
	return j, nil
}

// close releases the lock; remove also deletes the file (everything in it
// was undone).
func (j *Journal) close(remove bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	if remove {
		os.Remove(j.path)
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// journalLocked reports whether another open file description holds the
// journal's lock, i.e. its session is running.
func journalLocked(f *os.File) bool {
	err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return false
	}
	return err == unix.EWOULDBLOCK
}
