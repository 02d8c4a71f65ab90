package script

import (
	"fmt"
	"strings"

	"github.com/nslab/nslab/lab/proxy"
)

// The shell and Go equivalents of the proxy commands. In the shell the
// proxy is nslab's own daemon (nslab proxy), the product the lessons are
// about, controlled over its socket with curl; in Go, the technique it is
// built on, as docs/examples/nsproxy shows it.

func shProxyStart(name string, cfg proxy.Config, routes []string, tenants []nameRun) func(*Sh) string {
	return func(x *Sh) string {
		var b strings.Builder
		sock := fmt.Sprintf(`"$RUN/%s.sock"`, name)
		fmt.Fprintf(&b, "nslab proxy --name %s --control %s", name, sock)
		if cfg.Strategy != "" {
			fmt.Fprintf(&b, " --strategy %s", cfg.Strategy)
		}
		for _, r := range routes {
			fmt.Fprintf(&b, " --route %s", quote(r))
		}
		// Tenants by the lesson's names: the proxy finds their
		// namespaces itself, and {tenant} in a route means the name.
		for _, r := range tenants {
			if r.isRange {
				fmt.Fprintf(&b, " $(printf ' --tenant %s' $(seq %d %d))", r.prefix+"%s"+r.suffix, r.from, r.to)
			} else {
				fmt.Fprintf(&b, " --tenant %s", r.names[0])
			}
		}
		fmt.Fprintf(&b, ` 2>"$RUN/%s.log" & %s=$!`, name, pidOf(name))
		fmt.Fprintf(&b, "\nuntil curl -sf --unix-socket %s http://proxy/stats >/dev/null; do # until it serves\n\tkill -0 $%s 2>/dev/null || { cat \"$RUN/%s.log\" >&2; fail 'proxy %s did not start (is nslab on the PATH?)'; }; sleep 0.1\ndone", sock, pidOf(name), name, name)
		return b.String()
	}
}

// shTenants adds or removes tenants over the control socket, in one
// request (a range becomes name=t1&name=t2&...).
func shTenants(method, proxyName string, runs []nameRun) func(*Sh) string {
	return func(x *Sh) string {
		var q []string
		for _, r := range runs {
			if r.isRange {
				q = append(q, fmt.Sprintf("$(printf 'name=%s&' $(seq %d %d))", r.prefix+"%s"+r.suffix, r.from, r.to))
			} else {
				q = append(q, "name="+r.names[0]+"&")
			}
		}
		return fmt.Sprintf(`curl -sf --unix-socket "$RUN/%s.sock" -X %s "http://proxy/tenants?%s" >/dev/null`, proxyName, method, strings.TrimSuffix(strings.Join(q, ""), "&"))
	}
}

func goProxyStart(cfg proxy.Config) string {
	bind := `for _, t := range tenants { // one short visit of a locked thread each
	var l net.Listener
	nsdo.Do("/run/netns/"+t, func() (err error) { l, err = net.Listen("tcp", addr); return err })
	go serve(l) // the netpoller: a handful of threads for every tenant
}`
	switch cfg.Strategy {
	case proxy.ThreadPerNamespace:
		bind = `for _, t := range tenants {
	go func() {
		runtime.LockOSThread() // never unlocked: this thread is the tenant's
		ns, _ := netns.GetFromPath("/run/netns/" + t)
		netns.Set(ns)
		l, _ := net.Listen("tcp", addr)
		serve(l)
	}()
}`
	case proxy.BlockingAccept:
		bind = `for _, t := range tenants {
	var fd int
	nsdo.Do("/run/netns/"+t, func() (err error) { fd, err = socketBound(addr); return err }) // a blocking fd
	go func() {
		for {
			nfd, _, _ := unix.Accept4(fd, unix.SOCK_CLOEXEC) // asleep in the kernel: a thread each
			...
		}
	}()
}`
	case proxy.ProcessPerNamespace:
		bind = `for _, t := range tenants {
	cmd := exec.Command("ip", "netns", "exec", t, os.Args[0], "worker") // a process per tenant
	cmd.Start()
}`
	}
	return bind + "\n// docs/examples/nsproxy: the same proxy, small"
}

func goProxyAdd(ts []string) string {
	return fmt.Sprintf("bindShared([]string{%s}) // live: one setns visit each, no new thread for the shared strategy", goNames(ts))
}

func goProcStatus() string {
	return `b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
// Threads: and VmRSS: -- what the proxy costs`
}
