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
		n, err := p.newProcName("a name for the child")
		if err != nil {
			return nil, err
		}
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
				h, err := p.word("a hostname")
				if err != nil {
					return nil, err
				}
				opt.Hostname = h.Text
			case "uidmap", "gidmap":
				m, err := p.idMap()
				if err != nil {
					return nil, err
				}
				if t.Text == "uidmap" {
					opt.UIDMap = append(opt.UIDMap, m)
				} else {
					opt.GIDMap = append(opt.GIDMap, m)
				}
			case "propagation":
				v, err := p.keyword("private", "shared")
				if err != nil {
					return nil, err
				}
				opt.Propagation = v.Text
			case "mountproc":
				opt.MountProc = true
			case "setns":
				nt, err := p.word("the namespace the child's sockets are meant for")
				if err != nil {
					return nil, err
				}
				p.ref(KindNetOrProc, nt)
				mode, err := p.keyword("locked", "unlocked")
				if err != nil {
					return nil, err
				}
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
			if len(opt.Command) == 0 {
				return nil, p.errAt(Token{Col: p.end}, "missing a command after --")
			}
		}
		flags := make([]string, 0, len(opt.Namespaces))
		for _, t := range opt.Namespaces {
			flags = append(flags, map[string]string{"net": "--net", "uts": "--uts", "pid": "--pid --fork", "mnt": "--mount", "user": "--user", "ipc": "--ipc", "cgroup": "--cgroup", "time": "--time"}[t])
		}
		if opt.MountProc {
			flags = append(flags, "--mount-proc")
		}
		// unshare maps the caller (root, for the lab) by itself; any other
		// map is written afterwards, as idmap does (--map-users needs
		// newuidmap, which a lab machine may lack).
		var later []string
		for _, m := range opt.UIDMap {
			if m.Outside == 0 && m.Count == 1 {
				flags = append(flags, fmt.Sprintf("--map-user=%d", m.Inside))
			} else {
				later = append(later, fmt.Sprintf("echo '%s' > /proc/$%s/uid_map", m, pidOf(opt.Name)))
			}
		}
		for _, m := range opt.GIDMap {
			if m.Outside == 0 && m.Count == 1 {
				flags = append(flags, fmt.Sprintf("--map-group=%d", m.Inside))
			} else {
				later = append(later, fmt.Sprintf("echo '%s' > /proc/$%s/gid_map", m, pidOf(opt.Name)))
			}
		}
		if opt.Propagation != "" {
			flags = append(flags, "--propagation "+opt.Propagation)
		}
		cmdline := "sleep infinity"
		if len(opt.Command) > 0 {
			cmdline = strings.Join(quoteAll(opt.Command), " ")
		}
		sh := fmt.Sprintf("unshare %s %s", strings.Join(flags, " "), cmdline)
		if opt.Hostname != "" {
			sh = fmt.Sprintf("unshare %s sh -c 'hostname %s; exec %s'", strings.Join(flags, " "), opt.Hostname, cmdline)
		}
		// The PID later lines (exec -p, kill, idmap) use: with a new PID
		// namespace unshare forks, and the child is the one inside.
		pidVar := pidOf(opt.Name)
		if slices.Contains(opt.Namespaces, "pid") {
			sh += fmt.Sprintf(" &\nsleep 0.2; %s=$(pgrep -P $!)", pidVar)
		} else {
			sh += fmt.Sprintf(" & %s=$!", pidVar)
			if len(later) > 0 {
				sh += "\nsleep 0.2 # until unshare has made the user namespace"
			}
		}
		for _, l := range later {
			sh += "\n" + l
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
			shell:  sh,
			gocode: spawnGo(opt, demo),
		}, p.done()
	},
}

func spawnGo(opt lab.SpawnOptions, demo *switchDemo) string {
	if demo != nil && !demo.Locked {
		return `for i := 0; i < 32; i++ {
	go func() { // WRONG: setns changes this thread, and the goroutine may move
		unix.Setns(target, unix.CLONE_NEWNET)
		time.Sleep(time.Millisecond)         // wakes up on any thread
		fd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0) // in which namespace?
		unix.Setns(origin, unix.CLONE_NEWNET) // restores the thread it is on now
	}()
}`
	}
	if demo != nil {
		return `for i := 0; i < 32; i++ {
	go lab.Do(ns, func() error { // locks the thread for the whole visit
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		return err
	})
}`
	}
	var flags []string
	for _, t := range opt.Namespaces {
		flags = append(flags, map[string]string{"net": "CLONE_NEWNET", "uts": "CLONE_NEWUTS", "pid": "CLONE_NEWPID", "mnt": "CLONE_NEWNS", "user": "CLONE_NEWUSER", "ipc": "CLONE_NEWIPC", "cgroup": "CLONE_NEWCGROUP", "time": "CLONE_NEWTIME"}[t])
	}
	s := fmt.Sprintf("cmd := exec.Command(\"/proc/self/exe\", \"init\") // re-exec: the child sets itself up inside\ncmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.%s}", strings.Join(flags, " | syscall."))
	for _, m := range opt.UIDMap {
		s += fmt.Sprintf("\ncmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: %d, HostID: %d, Size: %d}}", m.Inside, m.Outside, m.Count)
	}
	s += "\ncmd.Start()"
	if opt.Hostname != "" {
		s += fmt.Sprintf("\n// in the child (init): syscall.Sethostname([]byte(%q))", opt.Hostname)
	}
	return s
}

func (p *parser) idMap() (lab.IDMap, error) {
	var v [3]int
	for i, what := range []string{"the id inside", "the id outside", "a count"} {
		t, err := p.word(what)
		if err != nil {
			return lab.IDMap{}, err
		}
		n, err := strconv.Atoi(t.Text)
		if err != nil || n < 0 {
			return lab.IDMap{}, p.errAt(t, "%s: want a number, found `%s`", what, t.Text)
		}
		v[i] = n
	}
	if v[2] == 0 {
		return lab.IDMap{}, p.errAt(Token{Col: p.end}, "an id map needs a count of at least 1")
	}
	return lab.IDMap{Inside: v[0], Outside: v[1], Count: v[2]}, nil
}

// pidOf is the shell variable that holds a spawned child's (or a
// background socat's) PID in a shell equivalent: spawn and listen ... as
// set it, exec -p, kill, idmap and close use it.
func pidOf(name string) string { return "PID_OF_" + strings.ToUpper(goIdent(name)) }

func quoteAll(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = quote(w)
	}
	return out
}

var cmdKill = &Command{
	Name: "kill", Usage: "kill NAME", Summary: "stop a spawned child; its namespaces go with it unless held", Example: "kill c1",
	parse: func(p *parser) (Action, error) {
		n, err := p.word("a spawned child's name")
		if err != nil {
			return nil, err
		}
		p.ref(KindProc, n)
		name := n.Text
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				pr, ok := env.S.Proc(name)
				if !ok {
					return "", fmt.Errorf("no spawned child called %s", name)
				}
				return fmt.Sprintf("killed %s (pid %d)", name, pr.PID), env.S.Kill(name)
			},
			shell:  "kill -9 $" + pidOf(name),
			gocode: "cmd.Process.Kill()\ncmd.Wait()",
		}, p.done()
	},
}

var cmdIDMap = &Command{
	Name:    "idmap",
	Usage:   "idmap NAME uid IN OUT N [gid IN OUT N]",
	Summary: "write the uid (and gid) map of a child started in a new user namespace without one",
	Example: "idmap c1 uid 0 1000 1 gid 0 1000 1",
	parse: func(p *parser) (Action, error) {
		n, err := p.word("a spawned child's name")
		if err != nil {
			return nil, err
		}
		p.ref(KindProc, n)
		if _, err := p.keyword("uid"); err != nil {
			return nil, err
		}
		uid, err := p.idMap()
		if err != nil {
			return nil, err
		}
		var gids []lab.IDMap
		if p.accept("gid") {
			g, err := p.idMap()
			if err != nil {
				return nil, err
			}
			gids = append(gids, g)
		}
		name := n.Text
		pid := "$" + pidOf(n.Text)
		sh := fmt.Sprintf("echo '%s' > /proc/%s/uid_map", uid, pid)
		if len(gids) > 0 {
			sh += fmt.Sprintf("\necho deny > /proc/%s/setgroups\necho '%s' > /proc/%s/gid_map", pid, gids[0], pid)
		}
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				pr, ok := env.S.Proc(name)
				if !ok {
					return "", fmt.Errorf("no spawned child called %s", name)
				}
				return "", pr.WriteIDMaps([]lab.IDMap{uid}, gids)
			},
			shell:  sh,
			gocode: fmt.Sprintf("os.WriteFile(fmt.Sprintf(\"/proc/%%d/uid_map\", pid), []byte(%q), 0)", uid.String()+"\n"),
		}, p.done()
	},
}

var cmdExec = &Command{
	Name: "exec", NS: true, Usage: "exec [-n NS | -p NAME] -- CMD ARGS", Summary: "run a host program inside a namespace (like ip netns exec) or inside a spawned child's namespaces (like nsenter)",
	Example: "exec -n alpha -- ip -br addr",
	parse: func(p *parser) (Action, error) {
		proc := ""
		if p.accept("-p") {
			t, err := p.word("a spawned child's name")
			if err != nil {
				return nil, err
			}
			proc = t.Text
			p.ref(KindProc, t)
		}
		if proc != "" && p.ns != "" {
			return nil, p.errAt(p.nsTok, "give -n or -p, not both")
		}
		if _, err := p.keyword("--"); err != nil {
			return nil, err
		}
		argv := p.rest()
		if len(argv) == 0 {
			return nil, p.errAt(Token{Col: p.end}, "missing a command after --")
		}
		ns := p.ns
		sh := strings.Join(quoteAll(argv), " ")
		switch {
		case proc != "":
			sh = "nsenter -t $" + pidOf(proc) + " -a --preserve-credentials " + sh
		case !lab.IsHost(ns):
			sh = "ip netns exec " + lab.SysName(ns) + " " + sh
		}
		return &act{
			run: func(ctx context.Context, env *Env) (string, error) {
				out, err := runExec(ctx, env, ns, proc, argv)
				env.setOutput(out)
				return out, err
			},
			shell:  sh,
			gocode: inNS(ns, fmt.Sprintf("cmd := exec.Command(%s)\ncmd.Stdout = f // an *os.File: no copying goroutine starts here\ncmd.Start()  // forked from this thread: the child is born in the namespace", strings.Join(goStrings(argv), ", "))),
		}, nil
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
		pr, ok := env.S.Proc(proc)
		if !ok {
			return "", fmt.Errorf("no spawned child called %s", proc)
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
	cmd := &exec.Cmd{Path: path, Args: argv, Stdout: f, Stderr: f}
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
	parse: func(p *parser) (Action, error) {
		t, err := p.word("a spawned child's name, a PID or self")
		if err != nil {
			return nil, err
		}
		p.ref(KindProc, t)
		what := t.Text
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				if _, err := resolvePID(env, what); err != nil {
					return "", err
				}
				env.watch(what)
				return "watching " + what, nil
			},
			shell:  "watch -n1 'ls -l /proc/" + what + "/ns /proc/" + what + "/task/*/ns/net'",
			gocode: "snap, _ := probe.Take(pid, probe.Options{Threads: true, Sockets: true})",
		}, p.done()
	},
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
