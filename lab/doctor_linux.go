package lab

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Status of one doctor check.
type Status string

const (
	StatusOK      Status = "ok"
	StatusMissing Status = "missing" // required: the lab cannot run
	StatusNo      Status = "no"      // optional: lessons that need it are skipped
	StatusWarn    Status = "warning" // works, with a caveat
)

// Check is one line of `nslab doctor`.
type Check struct {
	Name     string
	Status   Status
	Detail   string
	Required bool
	Feature  string // what scenarios call it in `requires` (sctp, userns, ...)
}

// Doctor checks what the lab needs from this machine. It changes nothing
// visible: link types are tried in a throw-away namespace that exists only
// while one locked thread is in it.
func Doctor() []Check {
	var cs []Check
	add := func(c Check) { cs = append(cs, c) }

	add(modeCheck())
	add(idsCheck())
	if err := CheckPrivileges(); err != nil {
		add(Check{Name: "privileges", Status: StatusMissing, Required: true, Detail: err.Error()})
	} else {
		who := "root"
		if info, inside := InSandbox(); inside {
			who = fmt.Sprintf("root in the sandbox (%s outside)", userLabel(info.UID))
		} else if os.Geteuid() != 0 {
			who = "CAP_SYS_ADMIN + CAP_NET_ADMIN"
		}
		add(Check{Name: "privileges", Status: StatusOK, Required: true, Detail: who})
	}
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		add(Check{Name: NetnsDir, Status: StatusMissing, Required: true, Detail: fmt.Sprintf("cannot create it: %v", unwrapPathErr(err))})
	} else if unix.Access(NetnsDir, unix.W_OK) != nil {
		add(Check{Name: NetnsDir, Status: StatusMissing, Required: true, Detail: "not writable"})
	} else {
		add(Check{Name: NetnsDir, Status: StatusOK, Required: true, Detail: "writable"})
	}
	for _, t := range []struct{ file, name, feature string }{
		{"net", "network namespaces", "netns"}, {"uts", "UTS namespaces", "uts"}, {"pid", "PID namespaces", "pidns"},
		{"mnt", "mount namespaces", "mntns"}, {"user", "user namespaces", "userns"}, {"ipc", "IPC namespaces", "ipc"},
		{"cgroup", "cgroup namespaces", "cgroupns"}, {"time", "time namespaces", "timens"},
	} {
		c := Check{Name: t.name, Feature: t.feature, Required: t.file == "net"}
		if _, err := os.Stat("/proc/self/ns/" + t.file); err != nil {
			c.Status, c.Detail = StatusNo, "kernel built without it (/proc/self/ns/"+t.file+" missing)"
			if c.Required {
				c.Status = StatusMissing
			}
		} else {
			c.Status, c.Detail = StatusOK, "/proc/self/ns/"+t.file
		}
		add(c)
	}
	veth, bridge := tryLinkTypes()
	add(linkCheck("veth pairs", "veth", veth, true))
	add(linkCheck("bridges", "bridge", bridge, true))
	add(sctpCheck())
	add(userNSCheck())
	add(pidfdCheck())
	for _, tool := range []struct{ name, why string }{
		{"ip", "iproute2: the commands lessons show"}, {"nsenter", "util-linux: exec inside a spawned child"},
		{"ss", "iproute2: list sockets inside a namespace"}, {"tmux", "a second terminal for hands-on steps"},
		{"socat", "the baseline in `nslab bench proxy`"}, {"lsns", "util-linux: cross-check namespace inodes"},
	} {
		c := Check{Name: "tool " + tool.name, Feature: "tool:" + tool.name}
		if p, err := exec.LookPath(tool.name); err != nil {
			c.Status, c.Detail = StatusNo, "not installed ("+tool.why+")"
		} else {
			c.Status, c.Detail = StatusOK, p
		}
		add(c)
	}
	return cs
}

// modeCheck says where this user's labs run, and why.
func modeCheck() Check {
	mode, why := ChooseMode(false)
	c := Check{Name: "mode", Status: StatusOK, Detail: string(mode) + ": " + why}
	if info, inside := InSandbox(); inside && info.Why != "" {
		c.Detail = "sandbox: " + info.Why
	}
	return c
}

// idsCheck says which user ids exist inside this user's sandbox: with a
// subordinate range, ids besides the learner's own (a lesson can switch to
// nobody); without one, only 0 (the learner).
func idsCheck() Check {
	c := Check{Name: "user ids", Feature: "uid-range", Status: StatusOK}
	info, inside := InSandbox()
	switch {
	case inside && info.Range:
		c.Detail = "the sandbox maps " + info.IDs + " (inside, outside, count): other users' ids exist inside"
	case inside:
		c.Status = StatusNo
		c.Detail = "the sandbox maps only " + userLabel(info.UID) + ", to 0: lessons that switch to another user (rootless) are skipped"
		if _, err := SubIDRange(info.UID); err != nil {
			c.Detail += "; for a range: " + err.Error()
		}
	default:
		c.Detail = "host mode: every id of the machine"
	}
	return c
}

func linkCheck(name, feature string, err error, required bool) Check {
	c := Check{Name: name, Feature: feature, Required: required, Status: StatusOK, Detail: "created one in a throw-away namespace"}
	if err != nil {
		c.Status, c.Detail = StatusMissing, err.Error()
	}
	return c
}

// tryLinkTypes creates a veth pair and a bridge in an anonymous namespace
// that only this locked thread holds; it vanishes when the thread leaves it.
func tryLinkTypes() (veth, bridge error) {
	err := DoFresh(func() error {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer h.Close()
		veth = h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "doctor0"}, PeerName: "doctor1"})
		bridge = h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "doctorbr"}})
		return nil
	})
	if err != nil {
		return err, err
	}
	return veth, bridge
}

// SCTPSupported reports whether the kernel can make SCTP sockets. The error
// wraps ErrUnsupported and says why, from the kernel's own configuration
// where it can be read.
func SCTPSupported() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		if err == unix.EPROTONOSUPPORT || err == unix.ESOCKTNOSUPPORT {
			return fmt.Errorf("this kernel has no SCTP: %s: %w", sctpWhy(err), ErrUnsupported)
		}
		return fmt.Errorf("SCTP socket: %w", errnoKind(err))
	}
	unix.Close(fd)
	return nil
}

// sctpWhy explains a failed SCTP socket from the kernel's build
// configuration (/proc/config.gz, or /boot/config-RELEASE) and whether it
// can load modules at all: "modprobe sctp" helps only when SCTP is a module.
func sctpWhy(err error) string {
	var uts unix.Utsname
	unix.Uname(&uts)
	release := unix.ByteSliceToString(uts.Release[:])
	value, from := kernelConfig("CONFIG_IP_SCTP", release)
	_, modErr := os.Stat("/proc/modules")
	modules := modErr == nil
	switch {
	case value == "n":
		return fmt.Sprintf("it was built without (CONFIG_IP_SCTP is not set in %s), so socket(IPPROTO_SCTP) fails with %q; a kernel built with CONFIG_IP_SCTP is needed", from, err)
	case value == "m" && !modules:
		return fmt.Sprintf("SCTP is a module (CONFIG_IP_SCTP=m in %s) but this kernel cannot load modules (no /proc/modules)", from)
	case value == "m":
		return fmt.Sprintf("SCTP is a module (CONFIG_IP_SCTP=m in %s) that did not load; try `modprobe sctp` (is it blacklisted in /etc/modprobe.d, or /lib/modules/%s missing?)", from, release)
	case !modules:
		return fmt.Sprintf("socket(IPPROTO_SCTP) fails with %q, and this kernel cannot load modules (no /proc/modules): only a kernel built with CONFIG_IP_SCTP=y has it", err)
	}
	return fmt.Sprintf("socket(IPPROTO_SCTP) fails with %q; try `modprobe sctp`, or a kernel with CONFIG_IP_SCTP", err)
}

// kernelConfig returns a kernel build option's value ("y", "m", or "n" for
// "is not set") and the file it was read from; "" if no configuration could
// be read or the option is absent.
func kernelConfig(option, release string) (value, from string) {
	read := func(path string) []byte {
		f, err := os.Open(path)
		if err != nil {
			return nil
		}
		defer f.Close()
		var r io.Reader = f
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return nil
			}
			r = zr
		}
		b, _ := io.ReadAll(io.LimitReader(r, 4<<20))
		return b
	}
	for _, path := range []string{"/proc/config.gz", "/boot/config-" + release} {
		b := read(path)
		if b == nil {
			continue
		}
		return configValue(string(b), option), path
	}
	return "", ""
}

// configValue finds option in a kernel .config: "y", "m", a value, or "n"
// for "# OPTION is not set" and for an option the file lacks (its
// dependencies were not met, so it was not built).
func configValue(config, option string) string {
	for _, line := range strings.Split(config, "\n") {
		if v, ok := strings.CutPrefix(line, option+"="); ok {
			return v
		}
		if line == "# "+option+" is not set" {
			return "n"
		}
	}
	return "n"
}

func sctpCheck() Check {
	c := Check{Name: "SCTP", Feature: "sctp", Status: StatusOK, Detail: "socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) works"}
	if err := SCTPSupported(); err != nil {
		c.Status, c.Detail = StatusNo, strings.TrimSuffix(err.Error(), ": "+ErrUnsupported.Error())+"; SCTP lessons are skipped"
	}
	return c
}

// UnprivilegedUserNS reports whether an unprivileged user may create user
// namespaces (and so a sandbox): the error names the kernel setting that
// turns them off. Ubuntu's AppArmor restriction does not apply to a binary
// its own profile allows (nslab's, installed by `make install`).
func UnprivilegedUserNS() error {
	read := func(file string) string {
		b, err := os.ReadFile(file)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	if read("/proc/sys/kernel/unprivileged_userns_clone") == "0" {
		return fmt.Errorf("disabled by kernel.unprivileged_userns_clone=0: %w", ErrUnsupported)
	}
	if read("/proc/sys/user/max_user_namespaces") == "0" {
		return fmt.Errorf("disabled by user.max_user_namespaces=0: %w", ErrUnsupported)
	}
	if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" && !appArmorAllowsUserNS() {
		return fmt.Errorf("restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns=1): %w", ErrUnsupported)
	}
	return nil
}

// appArmorAllowsUserNS reports whether this process runs under nslab's
// AppArmor profile, which allows user namespaces (see docs/sandbox.md).
func appArmorAllowsUserNS() bool {
	for _, f := range []string{"/proc/self/attr/apparmor/current", "/proc/self/attr/current"} {
		if b, err := os.ReadFile(f); err == nil {
			label, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
			return label == "nslab"
		}
	}
	return false
}

// UserNSFix says how to turn unprivileged user namespaces on again, for
// the setting UnprivilegedUserNS named.
func UserNSFix(err error) string {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	switch {
	case strings.Contains(msg, "unprivileged_userns_clone"):
		return "as root, `sysctl -w kernel.unprivileged_userns_clone=1` turns them on (a file in /etc/sysctl.d/ keeps it after a reboot)"
	case strings.Contains(msg, "max_user_namespaces"):
		return "as root, `sysctl -w user.max_user_namespaces=15000` allows them (a file in /etc/sysctl.d/ keeps it after a reboot)"
	case strings.Contains(msg, "apparmor"):
		return "`sudo make install` installs nslab with an AppArmor profile that allows user namespaces for nslab alone (/etc/apparmor.d/nslab); or, for every program, `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"
	}
	return "check the kernel's user namespace settings (`nslab doctor`)"
}

func userNSCheck() Check {
	c := Check{Name: "unprivileged user namespaces", Feature: "userns-unprivileged", Status: StatusOK, Detail: "allowed"}
	if err := UnprivilegedUserNS(); err != nil {
		c.Status, c.Detail = StatusNo, strings.TrimSuffix(err.Error(), ": "+ErrUnsupported.Error())+"; "+UserNSFix(err)
	}
	return c
}

func pidfdCheck() Check {
	c := Check{Name: "pidfd_getfd", Feature: "pidfd", Status: StatusOK, Detail: "sockets of other processes can be inspected"}
	pfd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err == nil {
		var fd int
		fd, err = unix.PidfdGetfd(pfd, 0, 0)
		if err == nil {
			unix.Close(fd)
		}
		unix.Close(pfd)
	}
	if err != nil {
		c.Status, c.Detail = StatusNo, fmt.Sprintf("%v (kernel 5.6+ needed): the sockets panel shows this process only", err)
	}
	return c
}

// Ready reports whether every required check passed.
func Ready(cs []Check) bool {
	for _, c := range cs {
		if c.Required && c.Status != StatusOK {
			return false
		}
	}
	return true
}

// Features returns the scenario features this machine has (sctp, userns,
// tool:socat, ...), from the checks.
func Features(cs []Check) map[string]bool {
	f := map[string]bool{"linux": true}
	for _, c := range cs {
		if c.Feature != "" {
			f[c.Feature] = c.Status == StatusOK || c.Status == StatusWarn
		}
	}
	f["root"] = CheckPrivileges() == nil
	return f
}
