package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// RunningLab is one entry of a user's registry of running labs: what
// `nslab shell` lists and enters. The process that owns the lab (the
// sandbox's caller, or a host-mode lab itself) writes the entry and holds a
// lock on it while it lives; the kernel drops the lock however it dies, so
// a stale entry is never taken for a running lab.
type RunningLab struct {
	PID     int       `json:"pid"`   // a sandbox's init, or the host-mode lab
	Start   uint64    `json:"start"` // its start time: with the PID, unique
	Mode    Mode      `json:"mode"`
	Command string    `json:"command"`           // "nslab run hello --yes"
	RunDir  string    `json:"run_dir,omitempty"` // where its journals are, as the lab sees it
	Since   time.Time `json:"since"`
	path    string
}

// RegistryDir is where this user's running labs are listed: root's under
// /run/nslab/labs; another user's under $XDG_RUNTIME_DIR/nslab, else
// /run/user/UID/nslab, else /tmp/nslab-UID (made private, and refused if
// someone else owns it).
func RegistryDir() (string, error) {
	uid := os.Getuid()
	if uid == 0 {
		return "/run/nslab/labs", nil
	}
	for _, base := range []string{os.Getenv("XDG_RUNTIME_DIR"), fmt.Sprintf("/run/user/%d", uid)} {
		if base != "" && ownedDir(base, uid) {
			return filepath.Join(base, "nslab"), nil
		}
	}
	dir := fmt.Sprintf("/tmp/nslab-%d", uid)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	if !ownedDir(dir, uid) {
		return "", fmt.Errorf("%s is not a directory of yours: nslab will not use it (remove it, or set XDG_RUNTIME_DIR)", dir)
	}
	return dir, nil
}

// ownedDir reports whether path is a real directory (not a link) of uid.
func ownedDir(path string, uid int) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && int(st.Uid) == uid
}

// Register lists a running lab for `nslab shell` until release is called
// or the process ends.
func Register(l RunningLab) (release func(), err error) {
	dir, err := RegistryDir()
	if err != nil {
		return func() {}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return func() {}, err
	}
	if l.Since.IsZero() {
		l.Since = time.Now().UTC()
	}
	if l.Start == 0 {
		l.Start, _ = procStartTime(l.PID)
	}
	// Written and locked under a temporary name, then renamed: a reader
	// never sees the entry unlocked or half written.
	path := filepath.Join(dir, strconv.Itoa(l.PID)+".lab")
	f, err := os.CreateTemp(dir, ".new-*")
	if err != nil {
		return func() {}, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		os.Remove(f.Name())
		f.Close()
		return func() {}, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	b, _ := json.Marshal(l)
	f.Write(append(b, '\n'))
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		f.Close()
		return func() {}, err
	}
	return func() {
		os.Remove(path)
		f.Close()
	}, nil
}

// RunningLabs lists this user's running labs, oldest first, and removes
// the entries of labs that have ended.
func RunningLabs() ([]RunningLab, error) {
	dir, err := RegistryDir()
	if err != nil {
		return nil, err
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.lab"))
	var out []RunningLab
	for _, p := range paths {
		l, alive := readRunningLab(p)
		if !alive {
			os.Remove(p)
			continue
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out, nil
}

func readRunningLab(path string) (RunningLab, bool) {
	var l RunningLab
	f, err := os.Open(path)
	if err != nil {
		return l, false
	}
	defer f.Close()
	if !journalLocked(f) {
		return l, false
	}
	if json.NewDecoder(f).Decode(&l) != nil {
		return l, false
	}
	if st, err := procStartTime(l.PID); err != nil || st != l.Start {
		return l, false
	}
	l.path = path
	return l, true
}
