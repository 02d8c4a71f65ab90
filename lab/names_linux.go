package lab

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// slotDir holds one lock file per host-mode prefix: a lab holds the lock
// of the prefix its names use while it has a session open, and the kernel
// drops it however the lab dies. It is machine-wide whatever NSLAB_RUN_DIR
// says, as the names are.
const slotDir = "/run/nslab"

var (
	slotFile  *os.File // the lock this process holds, or nil
	slotUsers int      // open sessions of this process
)

// claimPrefix gives this process's sessions a prefix no other running lab
// uses: the first session takes the first free of nslab-, nslab2- ...
// nslab9- (by lock file) and passes it on to the children it re-executes;
// the last one to close gives it back (releasePrefix). In a sandbox the
// names are the sandbox's alone: always nslab-.
func claimPrefix() error {
	prefixMu.Lock()
	defer prefixMu.Unlock()
	if _, inside := InSandbox(); inside {
		return nil
	}
	if slotUsers > 0 {
		slotUsers++
		return nil
	}
	dir := slotDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		dir = RunDir() // not root: the journal's directory is ours
	}
	for n := 1; n <= 9; n++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("prefix-%d.lock", n)), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("claim a name prefix: %w", err)
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			f.Close()
			continue
		}
		slotFile, slotUsers = f, 1
		prefix = Prefix
		if n > 1 {
			prefix = fmt.Sprintf("nslab%d-", n)
		}
		os.Setenv(prefixEnv, prefix)
		return nil
	}
	return fmt.Errorf("nine labs already run on this machine in host mode, and each names its namespaces with a prefix of its own: %w; end one, or run this one in a sandbox (--sandbox)", ErrExists)
}

// ClaimNames fixes this process's prefix before any session starts, until
// release: a program that parses lessons (whose shell equivalents and
// checks carry system names) before it opens a session claims first, so
// the names it parsed are the ones its sessions use.
func ClaimNames() (release func(), err error) {
	if err := claimPrefix(); err != nil {
		return func() {}, err
	}
	return releasePrefix, nil
}

// releasePrefix gives the prefix back when the last session closes.
func releasePrefix() {
	prefixMu.Lock()
	defer prefixMu.Unlock()
	if slotUsers == 0 {
		return
	}
	if slotUsers--; slotUsers > 0 {
		return
	}
	slotFile.Close()
	slotFile, prefix = nil, ""
	os.Unsetenv(prefixEnv)
}
