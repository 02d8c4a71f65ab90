package script

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nslab/nslab/lab"
)

var cmdSpawn = &Command{
	Name:    "spawn",
	Usage:   "spawn NAME [net,uts,pid,mnt,user,ipc,cgroup,time] [hostname H] [uidmap IN OUT N] [gidmap IN OUT N] [propagation private|shared] [mountproc] [setns NS locked|unlocked] [-- CMD ARGS]",
	Summary: "start a child in new namespaces (the binary re-executes itself as the child's init)",
	Example: "spawn c1 net,uts hostname c1",
	parse: func(p *parser) (Action, error) {
		n := p.newProcName("a name for the child")
		p.define(KindProc, n)
		opt := lab.SpawnOptions{Name: n.Text}
		var demo *switchDemo // setns NS locked|unlocked
		switchNs := ""
		for {
			t, ok := p.peek()
			if !ok || t.Text == "--" {
				break
			}
			p.i++
			switch t.Text {
			case "hostname":
				opt.Hostname = p.word("a hostname").Text
			case "uidmap", "gidmap":
				m := p.idMap()
				if t.Text == "uidmap" {
					opt.UIDMap = append(opt.UIDMap, m)
				} else {
					opt.GIDMap = append(opt.GIDMap, m)
				}
			case "propagation":
				opt.Propagation = p.keyword("private", "shared").Text
			case "mountproc":
				opt.MountProc = true
			case "setns":
				nt := p.word("the namespace the child's sockets are meant for")
				p.ref(KindNetOrProc, nt)
				mode := p.keyword("locked", "unlocked")
				switchNs = nt.Text
				demo = &switchDemo{Locked: mode.Text == "locked"}
			default:
				for _, typ := range strings.Split(t.Text, ",") {
					if !slices.Contains(lab.NamespaceTypes(), typ) {
						return nil, p.errAt(t, "unknown namespace type or option `%s`: expected %s, hostname, uidmap, gidmap, propagation or mountproc%s",
							typ, strings.Join(lab.NamespaceTypes(), ","), didYouMean(typ, append(lab.NamespaceTypes(), "hostname", "uidmap", "gidmap", "propagation", "mountproc")))
					}
					opt.Namespaces = append(opt.Namespaces, typ)
				}
			}
		}
		if p.accept("--") {
			opt.Command = p.rest()
			p.program = opt.Command
			if len(opt.Command) == 0 {
				return nil, p.errAt(Token{Col: p.end}, "missing a command after --")
			}
		}
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				opt := opt
				if demo != nil {
					ns, err := env.S.NetnsOf(switchNs)
					if err != nil {
						return "", err
					}
					ns.Close()
					d := *demo
					d.Netns = ns.Path()
					opt.Setup = d.setup()
				}
				pr, err := env.S.Spawn(opt)
				if err != nil {
					return "", err
				}
				if pr.Note != "" {
					return fmt.Sprintf("%s is pid %d; %s", pr.Name, pr.PID, pr.Note), nil
				}
				if len(opt.Namespaces) == 0 {
					return fmt.Sprintf("%s is pid %d, in all of the host's namespaces", pr.Name, pr.PID), nil
				}
				return fmt.Sprintf("%s is pid %d, in new %s namespaces", pr.Name, pr.PID, strings.Join(opt.Namespaces, ", ")), nil
			},
			sh:     shSpawn(opt, demo, switchNs),
			undo:   func(*Sh) []string { return []string{"kill -9 ${" + pidOf(opt.Name) + ":-} 2>/dev/null"} },
			gocode: goSpawn(opt, demo),
		}, p.done()
	},
}

// idMap reads `IN OUT N`: one line of a uid or gid map.
func (p *parser) idMap() lab.IDMap {
	var v [3]int
	for i, what := range []string{"the id inside", "the id outside", "a count"} {
		t := p.word(what)
		n, err := strconv.Atoi(t.Text)
		if err != nil || n < 0 {
			p.errAt(t, "%s: want a number, found `%s`", what, t.Text)
		}
		v[i] = n
	}
	if v[2] == 0 {
		p.errAt(Token{Col: p.end}, "an id map needs a count of at least 1")
	}
	return lab.IDMap{Inside: v[0], Outside: v[1], Count: v[2]}
}

// pidOf is the shell variable that holds a spawned child's (or a
// background socat's) PID in a shell equivalent: spawn and listen ... as
// set it, exec -p, kill, idmap and close use it.
func pidOf(name string) string { return "PID_OF_" + strings.ToUpper(goIdent(name)) }

// PIDVar is the shell variable a shell equivalent uses for the PID of the
// child called name ($PID_OF_C1): a UI showing the line to a learner puts
// the real PID in its place.
func PIDVar(name string) string { return "$" + pidOf(name) }

func quoteAll(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = quote(w)
	}
	return out
}

// child takes the name of a spawned child and records it for Scope.
func (p *parser) child() Token {
	t := p.word("a spawned child's name")
	p.ref(KindProc, t)
	return t
}

// childOf is the running child spawned as name.
func childOf(env *Env, name string) (*lab.Proc, error) {
	pr, ok := env.S.Proc(name)
	if !ok {
		return nil, fmt.Errorf("no spawned child called %s", name)
	}
	return pr, nil
}

var cmdKill = &Command{
	Name: "kill", Usage: "kill NAME", Summary: "stop a spawned child; its namespaces go with it unless held", Example: "kill c1",
	parse: named((*parser).child, func(name string) *act {
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				pr, err := childOf(env, name)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("killed %s (pid %d)", name, pr.PID), env.S.Kill(name)
			},
			sh: func(*Sh) string {
				return fmt.Sprintf("kill -9 $%s; wait $%s 2>/dev/null || true", pidOf(name), pidOf(name))
			},
			gocode: "cmd.Process.Kill()\ncmd.Wait() // its namespaces go with it, unless something else holds them",
		}
	}),
}

var cmdIDMap = &Command{
	Name:    "idmap",
	Usage:   "idmap NAME uid IN OUT N [gid IN OUT N]",
	Summary: "write the uid (and gid) map of a child started in a new user namespace without one",
	Example: "idmap c1 uid 0 1000 1 gid 0 1000 1",
	parse: func(p *parser) (Action, error) {
		n := p.child()
		p.keyword("uid")
		uid := p.idMap()
		var gids []lab.IDMap
		if p.accept("gid") {
			gids = append(gids, p.idMap())
		}
		name := n.Text
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				pr, err := childOf(env, name)
				if err != nil {
					return "", err
				}
				return "", pr.WriteIDMaps([]lab.IDMap{uid}, gids)
			},
			sh:     shIDMap(name, uid, gids),
			gocode: goIDMap(uid, gids),
		}, p.done()
	},
}

var cmdExec = &Command{
	Name: "exec", NS: true, Usage: "exec [-n NS | -p NAME] -- CMD ARGS", Summary: "run a host program inside a namespace (like ip netns exec) or inside a spawned child's namespaces (like nsenter)",
	Example: "exec -n alpha -- ip -br addr",
	parse: func(p *parser) (Action, error) {
		proc := ""
		if p.accept("-p") {
			proc = p.child().Text
		}
		if proc != "" && p.ns != "" {
			return nil, p.errAt(p.nsTok, "give -n or -p, not both")
		}
		p.keyword("--")
		argv := p.rest()
		if len(argv) == 0 {
			return nil, p.errAt(Token{Col: p.end}, "missing a command after --")
		}
		ns := p.ns
		p.program = argv
		return &act{
			run: func(ctx context.Context, env *Env) (string, error) {
				out, err := runExec(ctx, env, ns, proc, argv)
				env.setOutput(out)
				return out, err
			},
			sh:     shExec(ns, proc, argv),
			prints: true,
			gocode: goExec(ns, proc, argv),
		}, p.done()
	},
}

func goStrings(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = strconv.Quote(w)
	}
	return out
}

// execTimeout bounds a program run by exec.
const execTimeout = 30 * time.Second

// runExec runs argv inside a namespace (forked from a thread inside it) or
// inside all of a spawned child's namespaces (through nsenter: a
// multithreaded Go process cannot enter a mount or user namespace itself).
func runExec(ctx context.Context, env *Env, ns, proc string, argv []string) (string, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return "", fmt.Errorf("%s is not installed on this machine", argv[0])
	}
	if proc != "" {
		pr, err := childOf(env, proc)
		if err != nil {
			return "", err
		}
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			return "", errors.New("exec -p needs nsenter (util-linux)")
		}
		// --preserve-credentials: without it nsenter switches to uid and
		// gid 0 after entering a user namespace, which fails (EINVAL) in
		// one that has no map for 0 yet -- the very state a lesson shows.
		argv = append([]string{"nsenter", "-t", strconv.Itoa(pr.PID), "-a", "--preserve-credentials", "--"}, argv...)
		path = nsenter
	}
	f, err := os.CreateTemp("", "nslab-exec-*")
	if err != nil {
		return "", err
	}
	os.Remove(f.Name())
	defer f.Close()
	cmd := &exec.Cmd{Path: path, Args: argv, Stdout: f, Stderr: f, Env: append(os.Environ(), env.S.NameVars()...)}
	start := func() error { return cmd.Start() }
	if proc == "" && !lab.IsHost(ns) {
		n, err := env.S.NetnsOf(ns)
		if err != nil {
			return "", err
		}
		defer n.Close()
		err = lab.Do(n, start)
		if err != nil {
			return "", fmt.Errorf("start %s in %s: %w", argv[0], ns, err)
		}
	} else if err := start(); err != nil {
		return "", fmt.Errorf("start %s: %w", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	select {
	case err = <-done:
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		err = fmt.Errorf("%s did not finish in %s: killed", argv[0], execTimeout)
	}
	f.Seek(0, 0)
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	out := strings.TrimRight(string(b), "\n")
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out, fmt.Errorf("%s exited with status %d", argv[0], ee.ExitCode())
		}
		return out, err
	}
	return out, nil
}

var cmdWatch = &Command{
	Name: "watch", Usage: "watch NAME|PID|self", Summary: "show a process in the live panels", Example: "watch self",
	parse: named((*parser).proc, func(what string) *act {
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				if _, err := resolvePID(env, what); err != nil {
					return "", err
				}
				env.watch(what)
				return "watching " + what, nil
			},
			sh: func(x *Sh) string {
				p := x.pid(what)
				return fmt.Sprintf("# watch %s: ls -l /proc/%s/ns /proc/%s/task/*/ns/net", what, p, p)
			},
			gocode: goWatch(),
		}
	}),
}

// resolvePID maps self, a PID or a spawned child's name to a PID.
func resolvePID(env *Env, what string) (int, error) {
	if what == "self" {
		return os.Getpid(), nil
	}
	if pr, ok := env.S.Proc(what); ok {
		return pr.PID, nil
	}
	if n, err := strconv.Atoi(what); err == nil && n > 0 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", n)); err != nil {
			return 0, fmt.Errorf("no process %d", n)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%q is not self, a PID, or a spawned child", what)
}
