package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nslab/nslab/lab"
)

// How each peer is started over the first n tenants: as its operator
// would, from a config file of its own, each tenant's 127.0.0.1:8080
// forwarded to the tenant's 127.0.0.1:8000.

// startNslab runs `nslab proxy --config FILE`: this very binary, whole, as
// an operator runs it.
func startNslab(env *peerEnv, n int) ([]int, func(), error) {
	self, err := env.binary()
	if err != nil {
		return nil, nil, err
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "name: bench\ncontrol: %s\ntenants:\n", filepath.Join(env.dir, "nslab.sock"))
	// NAME=PATH: the session's namespaces carry its own prefix (nslab2-
	// while another lab holds nslab-), which a bare name would not find.
	for i, t := range env.names[:n] {
		fmt.Fprintf(&cfg, "  - %s=%s\n", t, env.nss[i].Path())
	}
	fmt.Fprintf(&cfg, "routes:\n  - name: web\n    listen: \"{tenant}/tcp/127.0.0.1:%d\"\n    target: \"{tenant}/tcp/127.0.0.1:%d\"\n", listenPort, backendPort)
	return env.startConfigured("nslab", "nslab.yaml", cfg.String(), func(file string) *exec.Cmd {
		return exec.Command(self, "proxy", "--config", file, "--log-level", "warn")
	})
}

// startHAProxy runs HAProxy as Debian's unit does (-Ws: master-worker,
// telling systemd when ready), with a listen section per tenant: namespace
// on the bind line and on the server line.
func startHAProxy(env *peerEnv, n int) ([]int, func(), error) {
	var cfg strings.Builder
	cfg.WriteString("global\n  maxconn 8000\n\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n\n")
	for i, t := range env.names[:n] {
		sys := lab.SysName(t)
		fmt.Fprintf(&cfg, "listen t%d\n  bind 127.0.0.1:%d namespace %s\n  server s 127.0.0.1:%d namespace %s\n\n", i, listenPort, sys, backendPort, sys)
	}
	return env.startConfigured("haproxy", "haproxy.cfg", cfg.String(), func(file string) *exec.Cmd {
		return exec.Command("haproxy", "-Ws", "-f", file)
	})
}

// startSocat runs one socat per tenant, as `ip netns exec` would (it forks
// a process per connection).
func startSocat(env *peerEnv, n int) ([]int, func(), error) {
	var pids []int
	var names []string
	stop := func() {
		for _, name := range names {
			env.s.Stop(name, 2*time.Second)
		}
	}
	for i, t := range env.names[:n] {
		name := fmt.Sprintf("peer-socat-%d", i)
		cmd := exec.Command("ip", "netns", "exec", lab.SysName(t), "socat", "-b", "131072",
			fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr,backlog=4096", listenPort), fmt.Sprintf("TCP:127.0.0.1:%d", backendPort))
		p, err := env.s.StartProcess(name, cmd)
		if err != nil {
			stop()
			return nil, nil, err
		}
		names = append(names, name)
		pids = append(pids, p.PID)
	}
	return pids, stop, nil
}

// startConfigured writes a peer's config file (name, in the run's
// directory) and starts the daemon that command makes of it, as a unit
// would: logging to a file of its own, told $NOTIFY_SOCKET.
func (env *peerEnv) startConfigured(peer, name, cfg string, command func(file string) *exec.Cmd) ([]int, func(), error) {
	file := filepath.Join(env.dir, name)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		return nil, nil, err
	}
	log, err := env.logFile(peer)
	if err != nil {
		return nil, nil, err
	}
	defer log.Close()
	cmd := command(file)
	cmd.Stdout, cmd.Stderr = log, log
	env.withNotify(cmd)
	return env.startOne("peer-"+peer, cmd)
}

// startOne starts one process in the session and says how to stop it.
func (env *peerEnv) startOne(name string, cmd *exec.Cmd) ([]int, func(), error) {
	p, err := env.s.StartProcess(name, cmd)
	if err != nil {
		return nil, nil, err
	}
	return []int{p.PID}, func() { env.s.Stop(name, 5*time.Second) }, nil
}

// binary is a copy of this executable for the nslab peer: run from the
// same file, it would share its pages with this process, and its PSS
// would count only half of them, which no operator's proxy gets.
func (env *peerEnv) binary() (string, error) {
	dst := filepath.Join(env.dir, "nslab")
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(self)
	if err != nil {
		return "", err
	}
	return dst, os.WriteFile(dst, b, 0o700)
}

// withNotify gives cmd the $NOTIFY_SOCKET the bench listens on.
func (env *peerEnv) withNotify(cmd *exec.Cmd) {
	if env.notify != "" {
		cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+env.notify)
	}
}
