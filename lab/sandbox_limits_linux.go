package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// nsTypes are the namespace types whose count a user namespace can cap
// (/proc/sys/user/max_TYPE_namespaces).
var nsTypes = []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}

// applyLimits sets the sandbox's limits on the lab process, in the
// sandbox and as root there, before anything of the learner's runs: the
// rlimits (soft = hard, which root in a user namespace cannot raise) are
// inherited by every process the lab starts; the namespace caps belong to
// the sandbox's user namespace and count what is made anywhere inside it.
func applyLimits(lim *SandboxLimits) error {
	if lim == nil {
		return nil
	}
	if lim.Procs > 0 {
		n := uint64(lim.Procs)
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: n, Max: n}); err != nil {
			return fmt.Errorf("limit processes to %d: %w", n, err)
		}
	}
	if lim.Memory > 0 {
		if err := unix.Setrlimit(unix.RLIMIT_DATA, &unix.Rlimit{Cur: lim.Memory, Max: lim.Memory}); err != nil {
			return fmt.Errorf("limit memory to %d bytes a process: %w", lim.Memory, err)
		}
	}
	if lim.Namespaces > 0 {
		for _, t := range nsTypes {
			path := "/proc/sys/user/max_" + t + "_namespaces"
			if _, err := os.Stat(path); err != nil {
				continue // a kernel without this type
			}
			if err := os.WriteFile(path, []byte(strconv.Itoa(lim.Namespaces)), 0); err != nil {
				return fmt.Errorf("limit %s namespaces to %d: %w", t, lim.Namespaces, err)
			}
		}
	}
	return nil
}

// readOnlyMachine makes every mount the sandbox sees read-only, in its own
// mount namespace (the machine's mounts do not change): the learner's
// programs cannot write a file of the machine, whatever the account may
// write outside. The sandbox's /run (mounted after this) and a /tmp of
// its own stay writable.
func readOnlyMachine() error {
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(unix.AT_FDCWD, "/", unix.AT_RECURSIVE, attr); err != nil {
		return fmt.Errorf("make the machine's file systems read-only in the sandbox: %w", err)
	}
	if err := unix.Mount("tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=16m,mode=1777"); err != nil {
		return fmt.Errorf("mount a /tmp of the sandbox's own: %w", err)
	}
	return nil
}

// ExplainLimit says which of the sandbox's limits err ran into, if any: a
// namespace past the cap is ENOSPC, a process or thread past it EAGAIN.
func ExplainLimit(err error) error {
	info, ok := InSandbox()
	if err == nil || !ok || info.Limits == nil {
		return err
	}
	switch {
	case errors.Is(err, unix.ENOSPC) && info.Limits.Namespaces > 0:
		return fmt.Errorf("%w: this lab may have at most %d namespaces of each type (a limit of the room it runs in); delete some first", err, info.Limits.Namespaces)
	case errors.Is(err, unix.EAGAIN) && info.Limits.Procs > 0:
		return fmt.Errorf("%w: this lab may run at most %d processes and threads (a limit of the room it runs in); kill some first", err, info.Limits.Procs)
	}
	return err
}

// procHeadroom is what the lab keeps of its process limit for itself (the
// TUI's and the runtime's threads): a Go program that cannot make a
// thread dies.
const procHeadroom = 48

// checkProcLimit refuses to start another process when the sandbox is
// near its process limit, before the kernel would refuse a thread of the
// lab itself.
func checkProcLimit() error {
	info, ok := InSandbox()
	if !ok || info.Limits == nil || info.Limits.Procs <= 0 {
		return nil
	}
	tasks, _ := filepath.Glob("/proc/[0-9]*/task/[0-9]*")
	if len(tasks)+procHeadroom > info.Limits.Procs {
		return fmt.Errorf("this lab runs %d processes and threads, and may run at most %d (a limit of the room it runs in, %d kept for the lab itself); kill something first",
			len(tasks), info.Limits.Procs, procHeadroom)
	}
	return nil
}
