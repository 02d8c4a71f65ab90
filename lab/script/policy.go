package script

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// Policy says which programs a learner's typed lines may run (exec's
// command, spawn's -- CMD): each allowed tool by name, with a check of its
// arguments. A learner of nslab serve gets ServePolicy and no shell: every
// program runs inside the learner's own sandbox, and none of the tools can
// start a shell or write a file.
type Policy struct {
	tools map[string]func(p *Policy, args []string) error
}

// Allow returns nil if argv may run, or an error that says what is refused
// and what is allowed instead.
func (p *Policy) Allow(argv []string) error {
	if len(argv) == 0 {
		return fmt.Errorf("no program given")
	}
	name := argv[0]
	check, ok := p.tools[name]
	if !ok || strings.Contains(name, "/") {
		return fmt.Errorf("%s is not allowed here: this lab runs only %s (no shell); type help exec for an example", name, strings.Join(p.Tools(), ", "))
	}
	if check != nil {
		if err := check(p, argv[1:]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// Tools lists the allowed programs, sorted.
func (p *Policy) Tools() []string {
	return slices.Sorted(maps.Keys(p.tools))
}

// ServePolicy is the allowlist of nslab serve: tools that inspect or
// change namespaces (all of them the learner's own, inside the sandbox),
// and file readers limited to /proc and /sys.
func ServePolicy() *Policy {
	p := &Policy{tools: map[string]func(*Policy, []string) error{
		"ip": ipArgs, "nsenter": nsenterArgs,
		"ss": nil, "lsns": nil, "ps": nil, "id": nil, "whoami": nil, "uname": nil,
		"hostname": nil, "pgrep": nil, "findmnt": nil, "true": nil, "false": nil,
		"ls": procList, "readlink": procList, "stat": procList,
		"cat": procFiles, "head": procFiles, "tail": procFiles,
	}}
	return p
}

// procPaths lets a file reader read /proc and /sys only.
func procPaths(_ *Policy, args []string) error {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		c := path.Clean(a)
		if !(c == "/proc" || c == "/sys" || strings.HasPrefix(c, "/proc/") || strings.HasPrefix(c, "/sys/")) {
			return fmt.Errorf("reads /proc and /sys only here, not %s", a)
		}
	}
	return nil
}

// procFiles lets a reader read the kernel's files under /proc and /sys,
// but not, through /proc/PID/root, cwd, fd or map_files, other files.
func procFiles(p *Policy, args []string) error {
	return procThrough(args, "root", "cwd", "fd", "map_files")
}

// procList lets a lister look at /proc and /sys (the fds of a process
// too: socket:[inode] is what lessons show), not at other directories
// through /proc/PID/root or cwd.
func procList(p *Policy, args []string) error { return procThrough(args, "root", "cwd", "map_files") }

func procThrough(args []string, forbidden ...string) error {
	if err := procPaths(nil, args); err != nil {
		return err
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		for _, part := range strings.Split(path.Clean(a), "/") {
			for _, f := range forbidden {
				if part == f {
					return fmt.Errorf("reads the kernel's files in /proc and /sys only, not other files through /proc/PID/%s", part)
				}
			}
		}
	}
	return nil
}

// ipArgs refuses a batch file (its lines could run anything) and judges
// the command of `ip netns exec NS CMD`.
func ipArgs(p *Policy, args []string) error {
	for i, a := range args {
		switch {
		case a == "-b" || strings.HasPrefix(a, "-batch") || a == "-force":
			return fmt.Errorf("a batch file is not allowed here; give one command")
		case (a == "exec" || a == "e" || a == "ex") && i >= 1 && isNetnsWord(args[i-1]):
			if i+2 > len(args)-1 {
				return fmt.Errorf("ip netns exec needs a namespace and a command")
			}
			return p.Allow(args[i+2:])
		}
	}
	return nil
}

func isNetnsWord(w string) bool { return w == "netns" || w == "net" || w == "netn" || w == "n" }

// nsenterArgs needs a command after the options (without one nsenter
// starts a shell) and judges it.
func nsenterArgs(p *Policy, args []string) error {
	withValue := map[string]bool{"-t": true, "--target": true, "-S": true, "--setuid": true, "-G": true, "--setgid": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return nsenterCommand(p, args[i+1:])
		case withValue[a]:
			i++
		case strings.HasPrefix(a, "--root") || strings.HasPrefix(a, "--wd") || a == "-r" || a == "-w" || strings.HasPrefix(a, "-R") || strings.HasPrefix(a, "-W"):
			return fmt.Errorf("changing the root or working directory is not allowed here")
		case strings.HasPrefix(a, "-"):
		default:
			return nsenterCommand(p, args[i:])
		}
	}
	return nsenterCommand(p, nil)
}

func nsenterCommand(p *Policy, cmd []string) error {
	if len(cmd) == 0 {
		return fmt.Errorf("give a command after the options (without one nsenter starts a shell, which this lab does not allow)")
	}
	return p.Allow(cmd)
}
