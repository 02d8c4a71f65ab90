package script

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/lab"
)

// The shell forms of the checks that see what a learner does: the traffic
// a lab listener got (logged by its socat, see shListen), the holders of a
// namespace (nslab inspect --holders, since no standard tool asks a socket
// where it was born), and what a process sees from inside: its ids, its
// /proc, its mounts. Each is a condition that holds exactly when the check
// does, and fails (never holds vacuously) when what it reads is missing.

// inoVar is the shell variable that keeps a lab namespace's inode, recorded
// by `netns add` when a later line looks for the namespace by it.
func inoVar(name string) string { return "INO_OF_" + strings.ToUpper(goIdent(name)) }

// shInoRecord is the line `netns add` adds for a namespace found by inode
// later: after `ip netns del` the name is gone, the namespace maybe not.
func shInoRecord(x *Sh, name string) string {
	return fmt.Sprintf("%s=$(stat -L -c %%i /run/netns/%s) # its inode: it is found by it once the name is gone", inoVar(name), x.netns(name))
}

// logFile is where a logged listener keeps what it got ($RUN/NAME.conns,
// $RUN/NAME.in).
func logFile(name, ext string) string { return fmt.Sprintf("$RUN/%s.%s", safeFile(name), ext) }

func condAccepted(name, op string, want int64) func(*Sh) string {
	return func(*Sh) string {
		return fmt.Sprintf(`test "$(wc -l < %s)" %s %d # a line per connection`, logFile(name, "conns"), testOp(op), want)
	}
}

func condReceived(name, text string, has bool) func(*Sh) string {
	return func(*Sh) string {
		c := fmt.Sprintf("grep -qF -- %s %s", quote(text), logFile(name, "in"))
		if !has {
			return "! " + c
		}
		return c
	}
}

// nsIno is a shell expression for the inode of the namespace a holder
// query names: a lab namespace's as `netns add` recorded it (or as its name
// shows it now), a process's from /proc.
func (q holderQuery) nsIno(x *Sh) string {
	if p, ok := q.procPath(x); ok {
		return fmt.Sprintf("$(stat -L -c %%i %s)", p)
	}
	if !x.inodes[q.name] {
		return fmt.Sprintf("$(stat -L -c %%i /run/netns/%s)", x.netns(q.name))
	}
	return fmt.Sprintf("${%s:-$(stat -L -c %%i /run/netns/%s 2>/dev/null)}", inoVar(q.name), x.netns(q.name))
}

// procPath is the namespace file of a query that names a path, a process
// or host: /proc/PID/ns/TYPE. A lab namespace has none (ok false).
func (q holderQuery) procPath(x *Sh) (string, bool) {
	switch {
	case strings.HasPrefix(q.name, "/"):
		return q.name, true
	case q.name == "self" || lab.IsHost(q.name) || x.isProc(q.name) || isNumber(q.name):
		return fmt.Sprintf("/proc/%s/ns/%s", x.pid(q.name), q.typ), true
	}
	return "", false
}

// shTarget is what `nslab inspect --holders` takes for the query: a path,
// or, in a script that records the namespace's inode, TYPE:[INODE], found
// even after its name is gone.
func (q holderQuery) shTarget(x *Sh) string {
	if p, ok := q.procPath(x); ok {
		return p
	}
	if !x.inodes[q.name] { // a line on its own: the name as it is now
		return "/run/netns/" + x.netns(q.name)
	}
	return fmt.Sprintf(`"net:[%s]"`, q.nsIno(x))
}

// condHolders counts the lines of `nslab inspect --holders` of the kind
// asked ("  socket   pid ..."); no output at all (the namespace could not
// be found) is no count, so the test fails rather than count 0.
func condHolders(q holderQuery, kind, op string, want int64) func(*Sh) string {
	return func(x *Sh) string {
		kinds := "process|thread|mount|fd|socket|owned"
		if kind != "" {
			kinds = kind
		}
		return fmt.Sprintf(`test "$(nslab inspect --holders %s | awk '/^  (%s) / {n++} END {print NR ? n+0 : "none"}')" %s %d`,
			q.shTarget(x), kinds, testOp(op), want)
	}
}

func shHolders(q holderQuery) func(*Sh) string {
	return func(x *Sh) string { return "nslab inspect --holders " + q.shTarget(x) }
}

// condLsns asks lsns(8) for the namespace's inode.
func condLsns(q holderQuery, lists bool) func(*Sh) string {
	return func(x *Sh) string {
		not := ""
		if !lists {
			not = "! "
		}
		return fmt.Sprintf(`{ ino=%s; test -n "$ino" && %slsns -t %s -n -o NS | grep -qw "$ino"; }`, q.nsIno(x), not, q.typ)
	}
}

// condID maps the process's id through its user namespace's map, as the
// kernel does for `id` inside: an id in no line is 65534.
func condID(what, who, op string, want int64) func(*Sh) string {
	return func(x *Sh) string {
		p := x.pid(who)
		field := map[string]string{"uid": "Uid", "gid": "Gid"}[what]
		return fmt.Sprintf(`test "$(awk -v k="$(awk '/^%s:/ {print $2}' /proc/%s/status)" '$2 <= k && k < $2 + $3 {print $1 + k - $2; m = 1} END {if (!m) print 65534}' /proc/%s/%s_map)" %s %d`,
			field, p, p, what, testOp(op), want)
	}
}

// condProcs counts what the /proc of the process's mount namespace lists:
// what ps inside shows.
func condProcs(who, op string, want int64) func(*Sh) string {
	return func(x *Sh) string {
		return fmt.Sprintf(`test "$(ls /proc/%s/root/proc | grep -c '^[0-9]*$')" %s %d`, x.pid(who), testOp(op), want)
	}
}

// condMount reads the process's mount table: field 5 is the mount point,
// and the source is the second field after " - ".
func condMount(who, at, source string, exists bool) func(*Sh) string {
	return func(x *Sh) string {
		c := fmt.Sprintf(`awk -v p=%s -v s=%s '{for (i = 7; i <= NF && $i != "-"; i++); if ($5 == p && (s == "" || $(i + 2) == s)) f = 1} END {exit !f}' /proc/%s/mountinfo`,
			quote(at), quote(source), x.pid(who))
		if !exists {
			return "! " + c
		}
		return c
	}
}

// labNetns is the lab namespace a query may name, for Sh.Plan: "" for a
// path, a PID, self or host (a spawned child's name is harmless: no
// `netns add` makes it).
func (q holderQuery) labNetns() string {
	if strings.HasPrefix(q.name, "/") || q.name == "self" || lab.IsHost(q.name) || isNumber(q.name) {
		return ""
	}
	return q.name
}

func goHolders(typ string) string {
	return fmt.Sprintf(`var st unix.Stat_t
unix.Stat(path, &st) // st.Ino names the namespace: "%[1]s:[INO]"
// then every reference to it that /proc shows:
// processes, threads: /proc/PID/task/TID/ns/%[1]s reads "%[1]s:[INO]"
// bind mounts: nsfs lines of /proc/PID/mountinfo whose root is "%[1]s:[INO]"
// descriptors: /proc/PID/fd/N whose stat is that nsfs inode
// sockets: a pidfd_getfd copy, then ioctl(SIOCGSKNS) opens its namespace
// docs/examples/holders`, typ)
}
