package script

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nslab/nslab/lab"
)

// The shell and Go equivalents of spawn, idmap, exec and watch.

var unshareFlags = map[string]string{"net": "--net", "uts": "--uts", "pid": "--pid --fork --kill-child", "mnt": "--mount",
	"user": "--user", "ipc": "--ipc", "cgroup": "--cgroup", "time": "--time"}

// shSpawn starts the child with unshare and waits until it runs its
// command inside, as spawn returns only once the child is set up. A child
// in a new PID namespace is named nslab-init:NAME, as nslab names its own,
// so ps and pgrep find it the same way. A child that opens sockets for
// another namespace (setns ... locked|unlocked) is the lock-os-thread
// exercise of docs/examples, built from a checkout of nslab.
func shSpawn(opt lab.SpawnOptions, demo *switchDemo, switchNs string) func(*Sh) string {
	return func(x *Sh) string {
		v := pidOf(opt.Name)
		if demo != nil {
			prog := "exercise -until-wrong" // the naive switch, repeated until the race shows
			if demo.Locked {
				prog = "solution"
			}
			dir, args, _ := strings.Cut(prog, " ")
			bin := fmt.Sprintf(`"$RUN/%s"`, opt.Name)
			return fmt.Sprintf("test -d \"${NSLAB_SOURCE:-.}/docs/examples\" || fail 'this step builds docs/examples with go: run the script in a checkout of nslab, or set NSLAB_SOURCE to one'\n"+
				"go -C \"${NSLAB_SOURCE:-.}\" build -o %s ./docs/examples/lock-os-thread/%s\n"+
				"%s %s-listeners 32 /run/netns/%s > \"$RUN/%s.out\" & %s=$!\n"+
				"until grep -q holding \"$RUN/%s.out\"; do sleep 0.1; done",
				bin, dir, bin, argsSpace(args), x.netns(switchNs), opt.Name, v, opt.Name)
		}
		var flags []string
		for _, t := range opt.Namespaces {
			flags = append(flags, unshareFlags[t])
		}
		if opt.MountProc {
			flags = append(flags, "--mount-proc")
		}
		// unshare maps the caller (root, for the lab) by itself; any
		// other map is written afterwards, as idmap does (--map-users
		// needs newuidmap, which a lab machine may lack).
		var later []string
		for _, m := range opt.UIDMap {
			if m.Outside == 0 && m.Count == 1 {
				flags = append(flags, fmt.Sprintf("--map-user=%d", m.Inside))
			} else {
				later = append(later, fmt.Sprintf("echo '%s' > /proc/$%s/uid_map", m, v))
			}
		}
		for _, m := range opt.GIDMap {
			if m.Outside == 0 && m.Count == 1 {
				flags = append(flags, fmt.Sprintf("--map-group=%d", m.Inside))
			} else {
				later = append(later, fmt.Sprintf("echo '%s' > /proc/$%s/gid_map", m, v))
			}
		}
		if opt.Propagation != "" {
			flags = append(flags, "--propagation "+opt.Propagation)
		}
		cmd := "sleep infinity"
		comm := "sleep"
		if len(opt.Command) > 0 {
			cmd = strings.Join(quoteAll(opt.Command), " ")
			comm = filepath.Base(opt.Command[0])
		}
		newPID := slices.Contains(opt.Namespaces, "pid")
		inner := "exec " + cmd
		if newPID {
			inner = fmt.Sprintf("exec -a nslab-init:%s %s", opt.Name, cmd)
		}
		if opt.Hostname != "" {
			inner = fmt.Sprintf("hostname %s; %s", opt.Hostname, inner)
		}
		if newPID || opt.Hostname != "" {
			cmd = "bash -c " + quote(inner)
		}
		line := strings.TrimSpace("unshare " + strings.Join(flags, " ") + " " + cmd)
		// Wait until the child runs its command: unshare (and the shell
		// around a hostname) has then made and set up every namespace.
		// With a new PID namespace unshare forks: the child inside is
		// the one later lines mean.
		running := fmt.Sprintf(`[ "$(cat /proc/$%s/comm 2>/dev/null)" = %s ]`, v, comm[:min(len(comm), 15)])
		if newPID {
			line += fmt.Sprintf(" &\nfor i in $(seq 100); do %s=$(pgrep -P $!) && %s && break; sleep 0.05; done", v, running)
		} else {
			line += fmt.Sprintf(" & %s=$!\nfor i in $(seq 100); do %s && break; sleep 0.05; done", v, running)
		}
		for _, l := range later {
			line += "\n" + l
		}
		return line
	}
}

func argsSpace(args string) string {
	if args == "" {
		return ""
	}
	return args + " "
}

var cloneFlags = map[string]string{"net": "CLONE_NEWNET", "uts": "CLONE_NEWUTS", "pid": "CLONE_NEWPID", "mnt": "CLONE_NEWNS",
	"user": "CLONE_NEWUSER", "ipc": "CLONE_NEWIPC", "cgroup": "CLONE_NEWCGROUP", "time": "CLONE_NEWTIME"}

func goSpawn(opt lab.SpawnOptions, demo *switchDemo) string {
	if demo != nil {
		if demo.Locked {
			return "// docs/examples/lock-os-thread/solution: lock, setns, listen, setns back, unlock\nruntime.LockOSThread()\norigin, _ := netns.Get() // this thread's\nnetns.Set(target)\nl, err := net.Listen(\"tcp4\", \"0.0.0.0:0\")\nif netns.Set(origin) != nil {\n\truntime.Goexit() // still locked: the thread is discarded\n}\nruntime.UnlockOSThread()"
		}
		return "// docs/examples/lock-os-thread/exercise: WRONG, from many goroutines at once\nunix.Setns(target, unix.CLONE_NEWNET) // moves this thread, not the goroutine\ntime.Sleep(time.Millisecond)         // may wake up on another thread\nl, err := net.Listen(\"tcp4\", \"0.0.0.0:0\") // in which namespace?\nunix.Setns(origin, unix.CLONE_NEWNET) // restores whatever thread it is on now"
	}
	var flags []string
	for _, t := range opt.Namespaces {
		flags = append(flags, "syscall."+cloneFlags[t])
	}
	if len(flags) == 0 {
		flags = []string{"0"}
	}
	s := fmt.Sprintf("cmd := exec.Command(\"/proc/self/exe\", \"child\") // re-exec: the child sets itself up inside\ncmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: %s}", strings.Join(flags, " | "))
	for _, m := range opt.UIDMap {
		s += fmt.Sprintf("\ncmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: %d, HostID: %d, Size: %d}}", m.Inside, m.Outside, m.Count)
	}
	if opt.MountProc {
		s += "\ncmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS // Go makes / private in the child"
	}
	s += "\ncmd.Start()"
	if opt.Hostname != "" {
		s += fmt.Sprintf("\n// in the child, first thing: unix.Sethostname([]byte(%q))", opt.Hostname)
	}
	if opt.MountProc {
		s += "\n// in the child: unix.Mount(\"proc\", \"/proc\", \"proc\", 0, \"\")"
	}
	return s + "\n// docs/examples/reexec"
}

func shIDMap(name string, uid lab.IDMap, gids []lab.IDMap) func(*Sh) string {
	return func(*Sh) string {
		pid := "$" + pidOf(name)
		s := fmt.Sprintf("echo '%s' > /proc/%s/uid_map", uid, pid)
		if len(gids) > 0 {
			s += fmt.Sprintf("\necho deny > /proc/%s/setgroups\necho '%s' > /proc/%s/gid_map", pid, gids[0], pid)
		}
		return s
	}
}

func goIDMap(uid lab.IDMap, gids []lab.IDMap) string {
	s := fmt.Sprintf("os.WriteFile(fmt.Sprintf(\"/proc/%%d/uid_map\", pid), []byte(%q), 0) // inside outside count; once", uid.String()+"\n")
	if len(gids) > 0 {
		s += fmt.Sprintf("\nos.WriteFile(fmt.Sprintf(\"/proc/%%d/setgroups\", pid), []byte(\"deny\"), 0)\nos.WriteFile(fmt.Sprintf(\"/proc/%%d/gid_map\", pid), []byte(%q), 0)", gids[0].String()+"\n")
	}
	return s
}

func shExec(ns, proc string, argv []string) func(*Sh) string {
	return func(x *Sh) string {
		cmd := strings.Join(quoteAll(argv), " ")
		if proc != "" {
			return "nsenter -t $" + pidOf(proc) + " -a --preserve-credentials " + cmd
		}
		return x.in(ns, cmd)
	}
}

func goExec(ns, proc string, argv []string) string {
	run := fmt.Sprintf("cmd := exec.Command(%s)\ncmd.Stdout = f // an *os.File: no copying goroutine starts inside\nerr := cmd.Start() // forked from this thread: the child is born in the namespace", strings.Join(goStrings(argv), ", "))
	switch {
	case proc != "":
		return fmt.Sprintf("// a mount or user namespace cannot be entered by a threaded Go program: run nsenter\ncmd := exec.Command(\"nsenter\", \"-t\", strconv.Itoa(pid), \"-a\", \"--\", %s)", strings.Join(goStrings(argv), ", "))
	case lab.IsHost(ns):
		return fmt.Sprintf("out, err := exec.Command(%s).CombinedOutput()", strings.Join(goStrings(argv), ", "))
	}
	return fmt.Sprintf("nsdo.Do(%s, func() error {\n%s\n\treturn err\n})", nsPathGo(ns), indent(run))
}

func goWatch() string {
	return `// which namespace is each thread in? (what the panels show)
tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/ns/net", pid))
for _, t := range tasks {
	ns, _ := os.Readlink(t) // "net:[4026531840]"
}`
}
