package script

import (
	"fmt"

	"github.com/nslab/nslab/lab"
)

// The checks as shell conditions: each succeeds exactly when the check
// holds, judged with what the kernel shows through ip, ss, readlink, stat
// and /proc; Sh.Line wraps it with `|| fail` and the check's text.

func condPing(ns, ip string, ok bool) func(*Sh) string {
	return func(x *Sh) string {
		p := x.in(ns, "ping -c 1 -W 1 "+ip) + " >/dev/null 2>&1"
		if !ok {
			return "! " + p
		}
		return p
	}
}

// upFlag matches UP among a link's flags as ip -o link prints them
// (<BROADCAST,MULTICAST,UP,LOWER_UP>): the administrative state.
const upFlag = `'[<,]UP[,>]'`

func condLink(ns, name, want string) func(*Sh) string {
	return func(x *Sh) string {
		show := fmt.Sprintf("%s -o link show dev %s", x.ip(ns), x.link(ns, name))
		switch want {
		case "up":
			return show + " 2>/dev/null | grep -q " + upFlag
		case "down":
			return show + " 2>/dev/null | grep -qv " + upFlag
		case "absent":
			return "! " + show + " >/dev/null 2>&1"
		}
		return show + " >/dev/null 2>&1"
	}
}

func condNetns(name string, exists bool) func(*Sh) string {
	return func(x *Sh) string {
		if exists {
			return "test -e /run/netns/" + x.netns(name)
		}
		return "test ! -e /run/netns/" + x.netns(name)
	}
}

func condNs(typ, a, b string, same bool) func(*Sh) string {
	return func(x *Sh) string {
		op := "="
		if !same {
			op = "!="
		}
		return fmt.Sprintf(`test "%s" %s "%s"`, x.nsid(typ, a), op, x.nsid(typ, b))
	}
}

// statusField is a number from /proc/PID/status.
func statusField(pid, field string) string {
	return fmt.Sprintf(`$(awk '/^%s:/ {print $2}' /proc/%s/status)`, field, pid)
}

func condProcNumber(what, who, op string, limit int64) func(*Sh) string {
	return func(x *Sh) string {
		if what == "rss" {
			return fmt.Sprintf(`test "%s" %s %d # kB`, statusField(x.pid(who), "VmRSS"), testOp(op), limit/1024)
		}
		return fmt.Sprintf(`test "%s" %s %d`, statusField(x.pid(who), "Threads"), testOp(op), limit)
	}
}

// condCountIn counts the threads (/proc/PID/task/TID/ns/net) or internet
// sockets (ss -p inside the namespace) of a process in a namespace. For
// self, the sockets are those of this script's own children: in the shell,
// the listeners are socat processes, not the script.
func condCountIn(what, who, ns, op string, want int64) func(*Sh) string {
	return func(x *Sh) string {
		if what == "thread" {
			return fmt.Sprintf(`test "$(for t in /proc/%s/task/*; do readlink $t/ns/net; done | grep -cxF "%s")" %s %d`,
				x.pid(who), x.nsid("net", ns), testOp(op), want)
		}
		owner := fmt.Sprintf(`"pid=%s,"`, x.pid(who))
		grep := "grep -c"
		if who == "self" {
			owner, grep = `"pid=($(pgrep -d'|' -P $$)),"`, "grep -cE"
		}
		return fmt.Sprintf(`test "$(%s | %s %s)" %s %d`, x.in(ns, "ss -Htuwanp"), grep, owner, testOp(op), want)
	}
}

func condHostname(who, want string, same bool) func(*Sh) string {
	return func(x *Sh) string {
		got := `$(hostname)`
		if who != "host" && who != "self" {
			got = fmt.Sprintf("$(nsenter -t %s -u hostname)", x.pid(who))
		}
		w := quote(want)
		if want == "host" {
			w = `"$(hostname)"`
		}
		op := "="
		if !same {
			op = "!="
		}
		return fmt.Sprintf(`test "%s" %s %s`, got, op, w)
	}
}

func condPID(who, op string, want int64) func(*Sh) string {
	return func(x *Sh) string {
		return fmt.Sprintf(`test "$(awk '/^NSpid:/ {print $NF}' /proc/%s/status)" %s %d # its PID in its own namespace`, x.pid(who), testOp(op), want)
	}
}

// condOutput reads the captured output of the last command that prints,
// in the form that command's shell prints it.
func condOutput(text string, contains bool) func(*Sh) string {
	return func(x *Sh) string {
		if a, ok := x.printer.(*act); ok && a.outTest != nil {
			return a.outTest(text, contains)
		}
		return outputTest(text, contains)
	}
}

func goExpectLink(ns, name string) string {
	return goNetlink(ns, func(h string) string {
		return fmt.Sprintf("l, err := %s.LinkByName(%q) // absent: a netlink.LinkNotFoundError\nup := err == nil && l.Attrs().Flags&net.FlagUp != 0", h, lab.LinkSysName(ns, name))
	})
}

func goExpectNs(typ string) string {
	return fmt.Sprintf(`a, _ := os.Readlink(fmt.Sprintf("/proc/%%d/ns/%s", pid))
b, _ := os.Readlink("/proc/self/ns/%s")
same := a == b // "%s:[4026531838]": the same inode is the same namespace`, typ, typ, typ)
}

func goExpectSockets() string {
	return `// which namespace is a socket in? Take a copy of the fd, then ask the kernel:
pidfd, _ := unix.PidfdOpen(pid, 0)
fd, _ := unix.PidfdGetfd(pidfd, n, 0)
nsfd, _ := unix.IoctlRetInt(fd, unix.SIOCGSKNS) // an fd of the socket's network namespace
var st unix.Stat_t
unix.Fstat(nsfd, &st) // st.Ino: compare with the namespace's inode
// docs/examples/lock-os-thread/check`
}

func goExpectHostname() string {
	return `// enter the child's UTS namespace on a locked thread, ask, come back
var u unix.Utsname
unix.Uname(&u)
name := unix.ByteSliceToString(u.Nodename[:]) // docs/examples/reexec/uts.go`
}
