//go:build linux

// Command reexec starts children in new namespaces the way container
// runtimes do: it re-executes its own binary (/proc/self/exe) with clone
// flags, so that the child's first instructions already run inside and can
// set the namespaces up (a hostname, a /proc, id maps) before anything
// else. This is the pattern of the "Namespace.go" talk (Piyush Verma), one
// mode per namespace type:
//
//	same      a child with no flags shares every namespace; one with
//	          CLONE_NEWUTS has a new UTS inode and the rest the same
//	uts       the child names its own copy of the hostname
//	pid       the child is PID 1; with -mountproc it also gets its own /proc
//	user      a user namespace: nobody until the parent writes the maps,
//	          root inside with maps given at clone time, and no more
//	mount     mount propagation: a shared peer sees new mounts, a private
//	          copy does not, and a mount inside stays inside
//	rootless  as nobody, a network namespace is refused, unless a user
//	          namespace of its own comes with it
//
//	go build -o /tmp/reexec ./docs/examples/reexec && sudo /tmp/reexec uts
//
// With -hold, it prints "ready" once the children are set up and waits for
// end of input before ending them, so they can be looked at from another
// shell (lsns -p PID, nsenter -t PID -u hostname).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
)

var (
	hold      = flag.Bool("hold", false, "print \"ready\" once the children are set up, and wait for end of input")
	mountProc = flag.Bool("mountproc", false, "pid: also a new mount namespace with a /proc of its own")
	hostname  = flag.String("hostname", "inner-system", "uts: the name the child gives itself")
	dir       = flag.String("dir", "", "mount: a scratch directory to experiment under (default: a new one in /tmp)")
)

func init() {
	// Keep the main goroutine on the main thread, which the runtime never
	// discards, and send a re-executed child to its code before main runs.
	runtime.LockOSThread()
	if len(os.Args) > 1 && os.Args[1] == "child" {
		if err := inner(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: reexec [flags] same|uts|pid|user|mount|rootless")
		flag.PrintDefaults()
	}
	flag.Parse()
	modes := map[string]func() error{"same": same, "uts": uts, "pid": pid, "user": user, "mount": mount, "rootless": rootless}
	run, ok := modes[flag.Arg(0)]
	if flag.NArg() != 1 || !ok {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// inner is the child's side: what it does depends on its first argument.
func inner(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no role")
	}
	roles := map[string]func([]string) error{
		"wait": func([]string) error { waitParent(); return nil },
		"uts":  utsChild, "pid": pidChild, "user": userChild,
		"mount-peek": mountPeek, "mount-own": mountOwn,
		"rootless": rootlessChild, "rootless-netns": rootlessNetns,
	}
	role, ok := roles[args[0]]
	if !ok {
		return fmt.Errorf("unknown role %q", args[0])
	}
	return role(args[1:])
}

// child is a re-executed copy of this binary in new namespaces. It reports
// each step on a line of its output (next reads it), waits for a line of
// input where the parent has something to do first (step), and ends at the
// end of its input.
type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// start re-executes /proc/self/exe as "child ROLE ARGS..." with attr (clone
// flags, id maps, credentials).
func start(attr *syscall.SysProcAttr, role string, args ...string) (*child, error) {
	cmd := exec.Command("/proc/self/exe", append([]string{"child", role}, args...)...)
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	attr.Pdeathsig = syscall.SIGKILL // ends with us, however we end
	cmd.SysProcAttr = attr
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", role, err) // EPERM: not allowed to make these namespaces
	}
	return &child{cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// step lets the child go on to its next step.
func (c *child) step() { fmt.Fprintln(c.in) }

// next waits for the child's next line, shows it, and returns it.
func (c *child) next() (string, error) {
	line, err := c.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("child %d ended early", c.pid())
	}
	fmt.Print("  child: ", line)
	return strings.TrimSpace(line), nil
}

// wait ends the child's input, shows what else it says, and waits for it
// to exit.
func (c *child) wait() error {
	c.in.Close()
	for {
		if _, err := c.next(); err != nil {
			break
		}
	}
	return c.cmd.Wait()
}

// stdin is read by a child between its steps.
var stdin = bufio.NewReader(os.Stdin)

// waitParent blocks until the parent says go on (true) or lets go (false).
func waitParent() bool {
	_, err := stdin.ReadString('\n')
	return err == nil
}

// holdIfAsked prints "ready" and the children's PIDs, and waits for end
// of our own input.
func holdIfAsked(kids ...*child) {
	if !*hold {
		return
	}
	var pids []string
	for _, k := range kids {
		pids = append(pids, fmt.Sprint(k.pid()))
	}
	fmt.Println("ready", strings.Join(pids, " "))
	io.Copy(io.Discard, os.Stdin)
}

// nsLink reads which namespace of type typ a process is in, as
// "uts:[4026531838]": the same text means the same namespace.
func nsLink(pid int, typ string) string {
	s, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, typ))
	if err != nil {
		return "?"
	}
	return s
}
