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
	slotFile   *os.File // the lock this process holds, or nil
	slotClaims int      // ClaimNames calls not yet released
)

// ClaimNames gives this process's names a prefix no other running lab
// uses, until release (or the process's end: the kernel drops the lock
// however it dies): the first free of nslab-, nslab2- ... nslab9-, by lock
// file. It is passed on to the children the process re-executes (proxy
// workers). A program running labs in host mode calls it first, before it
// parses lessons (whose shell equivalents and checks carry system names),
// so that two of them on one machine never meet; nslab does. Without it a
// process uses nslab-, as tests with names of their own do. In a sandbox
// the names are the sandbox's alone: always nslab-.
func ClaimNames() (release func(), err error) {
	prefixMu.Lock()
	defer prefixMu.Unlock()
	if _, inside := InSandbox(); inside {
		return func() {}, nil
	}
	if slotClaims > 0 {
		slotClaims++
		return releasePrefix, nil
	}
	dir := slotDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		dir = RunDir() // not root: the journal's directory is ours
	}
	for n := 1; n <= 9; n++ {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("prefix-%d.lock", n)), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return func() {}, fmt.Errorf("claim a name prefix: %w", err)
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			f.Close()
			continue
		}
		slotFile, slotClaims = f, 1
		prefix = Prefix
		if n > 1 {
			prefix = fmt.Sprintf("nslab%d-", n)
		}
		os.Setenv(prefixEnv, prefix)
		return releasePrefix, nil
	}
	return func() {}, fmt.Errorf("nine labs already run on this machine in host mode, and each names its namespaces with a prefix of its own: %w; end one, or run this one in a sandbox (--sandbox)", ErrExists)
}

// releasePrefix gives the prefix back when the last claim is released.
func releasePrefix() {
	prefixMu.Lock()
	defer prefixMu.Unlock()
	if slotClaims == 0 {
		return
	}
	if slotClaims--; slotClaims > 0 {
		return
	}
	slotFile.Close()
	slotFile, prefix = nil, ""
	os.Unsetenv(prefixEnv)
}
