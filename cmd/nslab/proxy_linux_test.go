package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

func TestProxyWithABadConfigNamesTheLineAndStartsNothing(t *testing.T) {
	labtest.RequireRoot(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "edge.yaml")
	ctl := filepath.Join(dir, "edge.sock")
	os.WriteFile(cfg, []byte("control: "+ctl+"\nroutes:\n  - listen: host/tcp/127.0.0.1:0\n    target: host/udp/127.0.0.1:9\n"), 0o644)
	_, stderr, code := nslab(t, "proxy", "--config", cfg)
	if code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if want := cfg + ":4:13: routes[0].target: udp cannot carry tcp"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q\nwant it to contain %q", stderr, want)
	}
	if _, err := os.Stat(ctl); err == nil {
		t.Errorf("the control socket was created for a config that failed")
	}
}

// nslab proxy as systemd runs it (Type=notify, ExecReload=kill -HUP):
// READY=1 on $NOTIFY_SOCKET once every tenant listens; SIGHUP reads the
// config again (RELOADING=1, then READY=1), binds the new tenant and drops
// no open connection; SIGTERM says STOPPING=1 and exits 0, its socket gone.
func TestProxyNotifiesSystemdAndReloadsOnSIGHUP(t *testing.T) {
	s := labtest.New(t)
	dir := t.TempDir()
	var names []string
	nss := map[string]*lab.Netns{}
	for i := range 2 {
		name := labtest.Name(fmt.Sprintf("sd%d", i))
		ns, err := s.AddNetns(name)
		if err != nil {
			t.Fatal(err)
		}
		defer ns.Close()
		if err := s.SetLinkUp("lo", name, true); err != nil {
			t.Fatal(err)
		}
		l, err := lab.ListenIn(ns, "tcp", "127.0.0.1:9000")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() { // greet, then echo
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.Write([]byte(name + "\n"))
					io.Copy(c, c)
				}()
			}
		}()
		names = append(names, name)
		nss[name] = ns
	}
	sock := filepath.Join(dir, "notify")
	nl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	next := func(want string) string {
		t.Helper()
		buf := make([]byte, 4096)
		nl.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := nl.Read(buf)
		if err != nil || !strings.Contains(string(buf[:n]), want) {
			t.Fatalf("sd_notify: got %q (%v), want %s", buf[:n], err, want)
		}
		return string(buf[:n])
	}
	cfg := filepath.Join(dir, "proxy.yaml")
	ctl := filepath.Join(dir, "proxy.sock")
	write := func(tenants ...string) {
		y := "control: " + ctl + "\nrescan: 1h\ntenants: [" + strings.Join(tenants, ", ") + "]\nroutes:\n" +
			"  - name: web\n    listen: \"{tenant}/tcp/127.0.0.1:8080\"\n    target: \"{tenant}/tcp/127.0.0.1:9000\"\n"
		if err := os.WriteFile(cfg, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(names[0])
	cmd := exec.Command(nslabBin(t), "proxy", "--config", cfg, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if got := next("READY=1"); !strings.Contains(got, "STATUS=serving 1 tenants") || !strings.Contains(got, fmt.Sprintf("MAINPID=%d", cmd.Process.Pid)) {
		t.Errorf("ready message %q", got)
	}
	greet := func(name string) (net.Conn, string) {
		c, err := lab.DialIn(nss[name], "tcp", "127.0.0.1:8080", 5*time.Second)
		if err != nil {
			return nil, err.Error()
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			c.Close()
			return nil, err.Error()
		}
		return c, strings.TrimSpace(line)
	}
	held, got := greet(names[0])
	if got != names[0] {
		t.Fatalf("at READY=1, %s answered %q", names[0], got)
	}
	defer held.Close()
	if _, got := greet(names[1]); got == names[1] {
		t.Fatalf("%s served before it was in the config", names[1])
	}

	write(names...)
	cmd.Process.Signal(syscall.SIGHUP)
	next("RELOADING=1")
	if got := next("READY=1"); !strings.Contains(got, "serving 2 tenants") {
		t.Errorf("after the reload: %q", got)
	}
	if c, got := greet(names[1]); got != names[1] {
		t.Errorf("after SIGHUP, the new tenant %s answered %q", names[1], got)
	} else {
		c.Close()
	}
	held.Write([]byte("x"))
	b := make([]byte, 1)
	if _, err := io.ReadFull(held, b); err != nil || b[0] != 'x' {
		t.Errorf("the connection open through the reload: %q, %v", b, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	if err := cmd.Wait(); err != nil {
		t.Errorf("nslab proxy after SIGTERM: %v\n%s", err, stderr.String())
	}
	if _, err := os.Stat(ctl); err == nil {
		t.Error("the control socket is left after the proxy stopped")
	}
}
