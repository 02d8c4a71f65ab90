package examples

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
)

// The examples are judged by what the kernel shows, through tools the
// examples did not write: ss, lsns, ip, nsenter, findmnt.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// TestMain removes the examples the tests built, once they are done.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// bin builds every example once (one go build for all of them) and returns
// the path of one. The directory is readable by anyone: reexec's rootless
// mode re-executes itself as nobody.
func bin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "nslab-examples-")
		if buildErr != nil {
			return
		}
		os.Chmod(binDir, 0o755)
		out, err := exec.Command("go", "build", "-o", binDir+"/", "./...").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./docs/examples/...: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// TestEveryExampleBuilds is the build on its own: it needs no root.
func TestEveryExampleBuilds(t *testing.T) {
	for _, name := range []string{"netns", "listen-in", "nsproxy", "http-tenants", "veth", "reexec", "exercise", "solution", "check", "holders"} {
		if _, err := os.Stat(bin(t, name)); err != nil {
			t.Errorf("%s was not built: %v", name, err)
		}
	}
}

// program is an example running in the background: its output lines
// arrive on a channel, and closing its input ends a -hold.
type program struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
	seen  []string
}

func start(t *testing.T, name string, args ...string) *program {
	t.Helper()
	cmd := exec.Command(bin(t, name), args...)
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &program{t: t, cmd: cmd, in: in, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// until reads lines until one starts with prefix and returns it.
func (p *program) until(prefix string) string {
	p.t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("%s ended before a line starting %q; it said:\n%s", p.cmd.Path, prefix, strings.Join(p.seen, "\n"))
			}
			p.seen = append(p.seen, l)
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			p.t.Fatalf("no line starting %q within 60s; it said:\n%s", prefix, strings.Join(p.seen, "\n"))
		}
	}
}

// finish closes the program's input and waits for it; it must exit 0.
func (p *program) finish() string {
	p.t.Helper()
	p.in.Close()
	for l := range p.lines {
		p.seen = append(p.seen, l)
	}
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("%s: %v; it said:\n%s", p.cmd.Path, err, strings.Join(p.seen, "\n"))
	}
	return strings.Join(p.seen, "\n")
}

// sh runs a command and returns its output; it must succeed.
func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// netnsAdd makes a namespace with ip netns add (lo up) and removes it at
// the end of the test.
func netnsAdd(t *testing.T, base string) string {
	t.Helper()
	name := "nslab-" + labtest.Name(base)
	sh(t, "ip", "netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	sh(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// threadNamespaces lists the distinct network namespaces of pid's threads.
func threadNamespaces(t *testing.T, pid int) []string {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/ns/net", pid))
	seen := map[string]bool{}
	var out []string
	for _, task := range tasks {
		ns, err := os.Readlink(task)
		if err == nil && !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out
}

// ownNs is this process's namespace of type typ, as readlink shows it:
// "net:[4026531840]".
func ownNs(t *testing.T, typ string) string {
	ns, err := os.Readlink("/proc/self/ns/" + typ)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// listenersOf lists the TCP listening sockets process pid holds in a
// namespace ("" for the host's), as ss sees them.
func listenersOf(t *testing.T, netns string, pid int) []string {
	t.Helper()
	args := []string{"ss", "-Hltnp"}
	if netns != "" {
		args = append([]string{"ip", "netns", "exec", netns}, args...)
	}
	var out []string
	for _, l := range strings.Split(sh(t, args...), "\n") {
		if strings.Contains(l, fmt.Sprintf("pid=%d,", pid)) {
			out = append(out, l)
		}
	}
	return out
}

// hostEcho is a line echo on the host's loopback, the service the proxy
// forwards to.
func hostEcho(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	labtest.AcceptAll(l, func(c net.Conn) {
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprintf(c, "echo: %s", line)
	})
	return l.Addr().String()
}
