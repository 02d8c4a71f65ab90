package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

// holdersTarget resolves what `nslab inspect --holders` names: a path to a
// namespace file (/run/netns/NAME, /proc/PID/ns/TYPE, a runtime's bind
// mount), a PID (its namespace of type typ), or a name in /run/netns (as
// given, or with the lab's prefix: alpha is nslab-alpha).
func holdersTarget(arg, typ string) (string, error) {
	switch {
	case strings.HasPrefix(arg, "/"):
		return arg, nil
	case arg == "self":
		return "/proc/self/ns/" + typ, nil
	}
	if !slices.Contains([]string{"net", "mnt", "pid", "user", "uts", "ipc", "cgroup", "time"}, typ) {
		return "", fmt.Errorf("--type %q: give one of net, mnt, pid, user, uts, ipc, cgroup, time", typ)
	}
	if pid, err := strconv.Atoi(arg); err == nil {
		if pid <= 0 {
			return "", fmt.Errorf("%q is not a PID", arg)
		}
		return fmt.Sprintf("/proc/%d/ns/%s", pid, typ), nil
	}
	if typ != "net" {
		return "", fmt.Errorf("%s names a network namespace in %s: --type %s needs a PID or a path", arg, lab.NetnsDir, typ)
	}
	for _, n := range []string{arg, lab.SysName(arg)} {
		p := filepath.Join(lab.NetnsDir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no namespace %q in %s (nor %s): give a name `ip netns list` shows, a PID, or a path", arg, lab.NetnsDir, lab.SysName(arg))
}

// nsIDRe matches a namespace as /proc names it, net:[4026532301]: what
// is left to name one whose name is gone (ip netns del, with a socket
// still in it).
var nsIDRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(net|mnt|pid|user|uts|ipc|cgroup|time):\[([0-9]+)\]$`)
})

// runHolders prints every holder of one namespace.
func runHolders(out io.Writer, arg, typ string, asJSON bool) error {
	var path, t string
	var ino uint64
	if m := nsIDRe().FindStringSubmatch(arg); m != nil {
		path, t = arg, m[1]
		ino, _ = strconv.ParseUint(m[2], 10, 64)
	} else {
		var err error
		if path, err = holdersTarget(arg, typ); err != nil {
			return usageErrorf("%v", err)
		}
		if t, ino, err = probe.NamespaceOf(path); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	rep, err := probe.FindHolders(t, ino)
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	if asJSON {
		return writeJSON(out, struct {
			Schema int    `json:"schema"`
			Path   string `json:"path"`
			*probe.HolderReport
			Lsns bool `json:"listed_by_lsns"`
		}{jsonSchema, path, rep, rep.VisibleToLsns()})
	}
	// The probe opened path once to learn the inode, and closed it: what
	// is listed holds the namespace without us.
	fmt.Fprintln(out, rep.Text(path, probe.LoadNames(), 1<<30))
	return nil
}
