//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

// childProc is a child in a new network namespace: the namespace lives as
// long as the process does, with no name in /run/netns; its handle is
// /proc/PID/ns/net.
type childProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	once  sync.Once
}

// startChild re-executes this binary as "child" with CLONE_NEWNET: the
// kernel creates the namespace as it creates the process. args tell a
// child in -bridge mode how to configure itself; with none, the child only
// holds its namespace until its input ends.
func startChild(args ...string) (*childProc, error) {
	cmd := exec.Command("/proc/self/exe", append([]string{"child"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
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
		return nil, fmt.Errorf("start a child in a new network namespace: %w", err) // EPERM without CAP_SYS_ADMIN
	}
	return &childProc{cmd: cmd, stdin: in, out: bufio.NewReader(out)}, nil
}

func (c *childProc) pid() int       { return c.cmd.Process.Pid }
func (c *childProc) nsPath() string { return fmt.Sprintf("/proc/%d/ns/net", c.pid()) }

// stop ends the child and reaps it. Its namespace, and every virtual link
// in it, goes with it.
func (c *childProc) stop() {
	c.once.Do(func() {
		c.stdin.Close()
		c.cmd.Process.Kill()
		c.cmd.Wait()
	})
}

// expect reads the child's next line and checks that it starts with want.
func (c *childProc) expect(want string) error {
	line, err := c.out.ReadString('\n')
	if err != nil {
		return fmt.Errorf("child %d: %w", c.pid(), err)
	}
	if !strings.HasPrefix(line, want) {
		return fmt.Errorf("child %d: %s", c.pid(), strings.TrimSpace(line))
	}
	return nil
}

// child runs in the new namespace. With args (IFACE CIDR GATEWAY) it
// waits for the parent to move IFACE in and configures it from inside.
func child(args []string) int {
	if len(args) == 3 {
		if err := configureSelf(args[0], args[1], args[2]); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("configured", args[0], args[1])
	}
	io.Copy(io.Discard, os.Stdin) // hold the namespace until the parent lets go
	return 0
}

// configureSelf is the inside of a container: its process is already in
// its namespace, so plain netlink calls act there; no switch needed.
func configureSelf(name, cidr, gw string) error {
	l, err := waitForLink(name, 5*time.Second)
	if err != nil {
		return err
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(l, a); err != nil {
		return err
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	for _, up := range []netlink.Link{l, lo} {
		if err := netlink.LinkSetUp(up); err != nil {
			return err
		}
	}
	return netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP(gw)})
}

// waitForLink polls until the parent has moved an interface in: the child
// starts before its interface exists.
func waitForLink(name string, limit time.Duration) (netlink.Link, error) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if l, err := netlink.LinkByName(name); err == nil {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%s did not appear within %s", name, limit)
}
