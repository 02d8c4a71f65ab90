package script

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lab/probe"
)

// Checks of what a process sees from inside its namespaces, read from the
// host without entering them: its uid as its own user namespace maps it,
// the processes its /proc lists, the mounts of its mount table. A learner
// who changes these from a second terminal (writes a uid_map, mounts in
// a child's namespace) is seen by them.

// expectID parses `expect uid|gid PROC OP N`: the id `id` would print
// inside PROC's user namespace. The kernel keeps one id per process; the
// namespace's uid_map (inside outside count) translates it, and an id with
// no line has no name inside: 65534, the overflow id.
func expectID(p *parser, what string) (*check, error) {
	c := p.procCompare("an id", 0)
	return &check{desc: fmt.Sprintf("the %s of %s inside its user namespace %s %d", what, c.who, c.op, c.want),
		test:   c.test(func(pid int) (int64, string, error) { return idInside(pid, what) }),
		still:  func(seen string) string { return strings.Replace(seen, "it is", "it is still", 1) },
		want:   fmt.Sprintf("%s %d", c.op, c.want),
		cond:   condID(what, c.who, c.op, c.want),
		gocode: fmt.Sprintf("b, _ := os.ReadFile(fmt.Sprintf(\"/proc/%%d/%s_map\", pid)) // inside outside count, per line", what),
	}, nil
}

// idInside maps pid's real uid (or gid) through its user namespace's map.
func idInside(pid int, what string) (int64, string, error) {
	st, err := probe.ReadStatus(pid)
	if err != nil {
		return 0, "", fmt.Errorf("read the status of process %d: %v", pid, err)
	}
	kernel := st.UID
	if what == "gid" {
		kernel = st.GID
	}
	m, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s_map", pid, what))
	if err != nil {
		return 0, "", fmt.Errorf("read the %s map of process %d: %v", what, pid, err)
	}
	lines := strings.TrimSpace(string(m))
	for _, l := range strings.Split(lines, "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		in, _ := strconv.ParseInt(f[0], 10, 64)
		out, _ := strconv.ParseInt(f[1], 10, 64)
		n, _ := strconv.ParseInt(f[2], 10, 64)
		if kernel >= out && kernel < out+n {
			inside := in + kernel - out
			return inside, fmt.Sprintf("it is %d: %s %d outside, by the %s_map line %q", inside, what, kernel, what, strings.Join(f, " ")), nil
		}
	}
	if lines == "" {
		return 65534, fmt.Sprintf("it is 65534, the overflow id: %s_map is empty, so %s %d has no name inside", what, what, kernel), nil
	}
	return 65534, fmt.Sprintf("it is 65534, the overflow id: %s %d is in no line of %s_map", what, kernel, what), nil
}

// expectProcs parses `expect procs PROC OP N`: how many processes the /proc
// mounted in PROC's mount namespace lists. It is what ps inside shows: a
// procfs lists the PID namespace it was mounted for, whatever namespace the
// reader is in.
func expectProcs(p *parser) (*check, error) {
	c := p.procCompare("a process count", 0)
	return &check{desc: fmt.Sprintf("the /proc %s sees lists %s %d processes", c.who, c.op, c.want),
		test: c.test(func(pid int) (int64, string, error) {
			// /proc/PID/root resolves paths in the process's own mount
			// namespace: its /proc, not ours.
			ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/root/proc", pid))
			if err != nil {
				return 0, "", fmt.Errorf("list the /proc of %s: %v", c.who, err)
			}
			var pids []string
			for _, e := range ents {
				if _, err := strconv.Atoi(e.Name()); err == nil {
					pids = append(pids, e.Name())
				}
			}
			seen := fmt.Sprintf("it lists %s", plural(len(pids), "process"))
			if len(pids) <= 4 {
				seen += ": PID " + strings.Join(pids, ", ")
			}
			return int64(len(pids)), seen, nil
		}),
		cond:   condProcs(c.who, c.op, c.want),
		gocode: "ents, _ := os.ReadDir(fmt.Sprintf(\"/proc/%d/root/proc\", pid)) // its mount namespace's /proc",
	}, nil
}

// expectMount parses `expect mount PROC PATH [SOURCE] exists|absent`: is
// something (SOURCE, as mount's first argument named it: nslab-scratch)
// mounted at PATH in PROC's mount table?
func expectMount(p *parser) (*check, error) {
	a := p.proc()
	path := p.word("a mount point, like /mnt")
	if !strings.HasPrefix(path.Text, "/") {
		return nil, p.errAt(path, "a mount point is an absolute path, like /mnt")
	}
	source := ""
	if t, ok := p.peek(); ok && t.Text != "exists" && t.Text != "absent" {
		p.i++
		source = t.Text
	}
	verb := p.keyword("exists", "absent")
	who, at, exists := a.Text, path.Text, verb.Text == "exists"
	what := "a mount"
	if source != "" {
		what = source
	}
	return &check{desc: fmt.Sprintf("%s at %s in the mount table of %s %s", what, at, who, verb.Text),
		test: ofProc(who, func(pid int) (bool, string, error) {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
			if err != nil {
				return false, "", fmt.Errorf("read the mount table of %s: %v", who, err)
			}
			var found []string
			for _, l := range strings.Split(string(b), "\n") {
				f := strings.Fields(l)
				sep := -1
				for i, w := range f {
					if w == "-" {
						sep = i
						break
					}
				}
				if sep < 0 || len(f) < sep+3 || len(f) < 5 || probe.UnescapeMount(f[4]) != at {
					continue
				}
				if source == "" || f[sep+2] == source {
					found = append(found, f[sep+2]+" ("+f[sep+1]+")")
				}
			}
			if len(found) == 0 {
				return !exists, fmt.Sprintf("%s has nothing like it at %s", who, at), nil
			}
			return exists, fmt.Sprintf("%s has %s at %s", who, strings.Join(found, ", "), at), nil
		}),
		still:  func(seen string) string { return strings.Replace(seen, " has ", " still has ", 1) },
		want:   map[bool]string{true: "it there", false: "it gone"}[exists],
		cond:   condMount(who, at, source, exists),
		gocode: "b, _ := os.ReadFile(fmt.Sprintf(\"/proc/%d/mountinfo\", pid))\n// field 5: the mount point; after \" - \": type, source",
	}, nil
}
