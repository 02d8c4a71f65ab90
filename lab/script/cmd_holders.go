package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/probe"
)

// What keeps a namespace alive: `holders NAME` lists it, `expect holders
// NAME == 0` checks it, `expect lsns NAME misses` compares with lsns(8). A
// lab namespace deleted from /run/netns (ip netns del) is still found by
// the inode the lab saw it with: that is the point of asking.

// baseTypes are the namespace types a holder query takes.
var baseTypes = []string{"net", "mnt", "pid", "user", "uts", "ipc", "cgroup", "time"}

// holderQuery is a parsed `NAME [TYPE]`.
type holderQuery struct {
	name, typ string
	typed     bool // TYPE was given
}

// parseHolderQuery reads `NAME [TYPE]`: a lab namespace, a spawned child or
// proxy, self, host, a PID, or a path such as /run/netns/NAME.
func (p *parser) holderQuery() holderQuery {
	t := p.word("a namespace (a lab namespace, a child, self, host, a PID or a path like /run/netns/NAME)")
	q := holderQuery{name: t.Text, typ: "net"}
	if !strings.HasPrefix(t.Text, "/") {
		p.ref(KindHeld, t)
	}
	if n, ok := p.peek(); ok && slices.Contains(baseTypes, n.Text) {
		p.i++
		q.typ, q.typed = n.Text, true
	}
	return q
}

// resolve finds the namespace a query names: its type, inode and a label
// for the learner.
func (q holderQuery) resolve(env *Env) (typ string, ino uint64, label string, err error) {
	switch {
	case strings.HasPrefix(q.name, "/"):
		typ, ino, err = probe.NamespaceOf(q.name)
		return typ, ino, q.name, err
	case q.name == "host" || q.name == "self":
		typ, ino, err = probe.NamespaceOf("/proc/self/ns/" + q.typ)
		return typ, ino, q.name, err
	}
	if pid, perr := resolvePID(env, q.name); perr == nil {
		typ, ino, err = probe.NamespaceOf(fmt.Sprintf("/proc/%d/ns/%s", pid, q.typ))
		return typ, ino, fmt.Sprintf("%s of %s", q.typ, q.name), err
	}
	if q.typed && q.typ != "net" {
		return "", 0, "", fmt.Errorf("%s is a network namespace: it has no %s namespace (a child or a PID has one of each type)", q.name, q.typ)
	}
	sys := lab.SysName(q.name)
	typ, ino, err = probe.NamespaceOf(filepath.Join(lab.NetnsDir, sys))
	if err == nil {
		env.rememberNs(q.name, ino)
		return typ, ino, sys, nil
	}
	if ino, ok := env.NamespaceInode(q.name); ok {
		return "net", ino, sys + ", whose name is gone from " + lab.NetnsDir, nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return "", 0, "", fmt.Errorf("%s is not in %s, and the lab never saw its inode: nothing to look for", sys, lab.NetnsDir)
	}
	return "", 0, "", err
}

var cmdHolders = &Command{
	Name: "holders", Usage: "holders NAME [TYPE]   (NAME: a lab namespace, a child, self, host, a PID, or a path like /run/netns/NAME)",
	Summary: "list what keeps a namespace alive: processes and threads in it, bind mounts, open descriptors, sockets born in it, and for a user namespace the namespaces it owns",
	Example: "holders alpha",
	parse: func(p *parser) (Action, error) {
		q := p.holderQuery()
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				typ, ino, label, err := q.resolve(env)
				if err != nil {
					return "", err
				}
				rep, err := probe.FindHolders(typ, ino)
				if err != nil {
					return "", err
				}
				return rep.Text(label, probe.LoadNames(), 20), nil
			},
			sh:      shHolders(q),
			prints:  true,
			inodeOf: q.labNetns(),
			gocode:  goHolders(q.typ),
		}, p.done()
	},
}

// expectHolders is `expect holders NAME [TYPE] [KIND] OP N`.
func expectHolders(p *parser) (*check, error) {
	q := p.holderQuery()
	kind := ""
	if t, ok := p.peek(); ok && slices.Contains(probe.HolderKinds, t.Text) {
		p.i++
		kind = t.Text
	}
	op, want := p.opInt("a holder count", 0)
	what := "holders"
	if kind != "" {
		what = kind + " holders"
	}
	of := q.name
	if q.typed {
		of = fmt.Sprintf("the %s namespace of %s", q.typ, q.name)
	}
	return &check{desc: fmt.Sprintf("%s of %s %s %d", what, of, op, want),
		test: func(_ context.Context, env *Env) (bool, string, error) {
			typ, ino, _, err := q.resolve(env)
			if err != nil {
				return false, "", err
			}
			rep, err := probe.FindHolders(typ, ino)
			if err != nil {
				return false, "", err
			}
			if len(rep.Errors) > 0 && !compare(int64(rep.Count(kind)), op, want) {
				return false, "", fmt.Errorf("%s: some holders could not be read: %s", rep.Summary(), strings.Join(rep.Errors, "; "))
			}
			return compare(int64(rep.Count(kind)), op, want), fmt.Sprintf("%s:[%d] has %s", typ, ino, rep.Summary()), nil
		},
		still:   func(seen string) string { return strings.Replace(seen, " has ", " still has ", 1) },
		want:    fmt.Sprintf("%s %s %d", what, op, want),
		cond:    condHolders(q, kind, op, want),
		inodeOf: q.labNetns(),
		gocode:  goHolders(q.typ),
	}, nil
}

// expectLsns is `expect lsns NAME [TYPE] lists|misses`: does lsns(8), which
// lists the namespaces of processes, show this one?
func expectLsns(p *parser) (*check, error) {
	q := p.holderQuery()
	verb := p.keyword("lists", "misses")
	lists := verb.Text == "lists"
	return &check{desc: fmt.Sprintf("lsns %s %s", verb.Text, q.name),
		test: func(ctx context.Context, env *Env) (bool, string, error) {
			typ, ino, _, err := q.resolve(env)
			if err != nil {
				return false, "", err
			}
			if _, err := exec.LookPath("lsns"); err != nil {
				return false, "", errors.New("lsns is not installed on this machine (util-linux)")
			}
			out, err := exec.CommandContext(ctx, "lsns", "-t", typ, "-n", "-o", "NS").Output()
			if err != nil {
				return false, "", fmt.Errorf("lsns -t %s: %v", typ, err)
			}
			found := slices.Contains(strings.Fields(string(out)), strconv.FormatUint(ino, 10))
			seen := fmt.Sprintf("lsns does not list %s:[%d]", typ, ino)
			if found {
				seen = fmt.Sprintf("lsns lists %s:[%d]", typ, ino)
			}
			return found == lists, seen, nil
		},
		cond:    condLsns(q, lists),
		inodeOf: q.labNetns(),
		gocode:  "out, _ := exec.Command(\"lsns\", \"-t\", \"" + q.typ + "\", \"-n\", \"-o\", \"NS\").Output()",
	}, nil
}
