package script

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"

	"github.com/nslab/nslab/lab"
)

// nsInode returns the inode of namespace typ of who: host, self, a PID, a
// spawned child, or (for net) a lab namespace.
func nsInode(env *Env, typ, who string) (uint64, error) {
	path := ""
	switch {
	case who == "host":
		path = "/proc/self/ns/" + typ // the lab runs in the host's namespaces
	default:
		if pid, err := resolvePID(env, who); err == nil {
			path = fmt.Sprintf("/proc/%d/ns/%s", pid, typ)
		} else if typ == "net" {
			path = filepath.Join(lab.NetnsDir, lab.SysName(who))
		} else {
			return 0, err
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("%s namespace of %s: %v", typ, who, err)
	}
	return st.Ino, nil
}

var nsTypes = []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"}

func expectNs(p *parser) (*check, error) {
	typ := p.keyword(nsTypes...)
	a := p.word("a process (self, a PID or a spawned child)")
	op := p.keyword("==", "!=")
	b := p.word("what to compare with (host, a namespace, a process)")
	k := KindProc
	if typ.Text == "net" {
		k = KindNetOrProc // nsInode falls back to a lab namespace for net
	}
	p.ref(k, a)
	p.ref(k, b)
	t, who, other, same := typ.Text, a.Text, b.Text, op.Text == "=="
	return &check{desc: fmt.Sprintf("%s namespace of %s %s %s's", t, who, map[bool]string{true: "is", false: "is not"}[same], other),
		test: func(_ context.Context, env *Env) (bool, string, error) {
			x, err := nsInode(env, t, who)
			if err != nil {
				return false, "", err
			}
			y, err := nsInode(env, t, other)
			if err != nil {
				return false, "", err
			}
			return (x == y) == same, fmt.Sprintf("%s:[%d] vs %s:[%d]", t, x, t, y), nil
		},
		cond:   condNs(t, who, other, same),
		gocode: goExpectNs(t),
	}, nil
}
