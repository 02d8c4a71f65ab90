package script

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// The proxy commands drive lab/proxy's daemon as a worker process of this
// binary (proxy.StartWorker): the proxy's threads and memory are its own, so
// `expect threads NAME <= 10` and the live panels measure the proxy, not
// the lab. The worker is a process of the session under NAME: `watch NAME`,
// `expect sockets NAME in alpha == 2` and `exec -p NAME` all work on it.

// proxyCtl is a started proxy in the runner's state.
type proxyCtl struct {
	client *proxy.Client
	proc   *lab.Proc
	cfg    proxy.Config
	bind   atomic.Int64 // ns: proxy start and proxy add so far (see compare)
}

var cmdProxyStart = &Command{
	Name:    "proxy start",
	Usage:   "proxy start NAME [strategy=shared|thread-per-namespace|process-per-namespace|blocking-accept] route LISTEN=TARGET[,http,host=PATTERN|,http,path=PATTERN]... [tenants NS,NS...]",
	Summary: "start the multi-namespace proxy as a worker process; each route is NETNS/PROTO/IP:PORT=NETNS/PROTO/IP:PORT, {tenant} standing for every tenant",
	Example: "proxy start edge strategy=shared route {tenant}/tcp/127.0.0.1:8080={tenant}/tcp/10.0.0.1:9000",
	parse: func(p *parser) (Action, error) {
		n := p.newProcName("a name for the proxy")
		cfg := proxy.Config{Name: n.Text}
		var routeToks []string
		var tenantRuns []nameRun
		for {
			t, ok := p.peek()
			if !ok {
				break
			}
			p.i++
			switch {
			case strings.HasPrefix(t.Text, "strategy="):
				st, err := proxy.ParseStrategy(strings.TrimPrefix(t.Text, "strategy="))
				if err != nil {
					var names []string
					for _, s := range proxy.Strategies() {
						names = append(names, string(s))
					}
					return nil, p.errAt(t, "%v%s", err, didYouMean(strings.TrimPrefix(t.Text, "strategy="), names))
				}
				cfg.Strategy = st
			case t.Text == "route":
				rt := p.word("a route LISTEN=TARGET, like {tenant}/tcp/127.0.0.1:8080={tenant}/tcp/10.0.0.1:9000")
				r, perr := proxy.ParseRouteFlag(rt.Text)
				if perr != nil {
					return nil, p.errAt(rt, "route: %v", perr)
				}
				p.refRoute(rt, r)
				r.Name = fmt.Sprintf("route%d", len(cfg.Routes)+1)
				cfg.Routes = append(cfg.Routes, r)
				routeToks = append(routeToks, rt.Text)
			case t.Text == "tenants":
				runs := p.nameWord("tenant namespaces, like alpha,beta or t{1..100}", lab.ValidateNetnsName)
				refRuns(p, runs)
				cfg.Tenants = append(cfg.Tenants, allNames(runs)...)
				tenantRuns = append(tenantRuns, runs...)
			default:
				return nil, p.errAt(t, "found `%s`, expected strategy=..., route LISTEN=TARGET or tenants NS,...%s",
					t.Text, didYouMean(t.Text, []string{"route", "tenants", "strategy=shared"}))
			}
		}
		if len(cfg.Routes) == 0 {
			return nil, p.errAt(Token{Col: p.end}, "a proxy needs at least one `route LISTEN=TARGET`")
		}
		if err := cfg.Validate(); err != nil {
			return nil, p.errAt(n, "%v", err)
		}
		p.define(KindProc, n)
		name := n.Text
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				if _, ok := env.S.Proc(name); ok {
					return "", fmt.Errorf("a process called %s is running: `proxy stop %s` (or `kill %s`) first, or pick another name", name, name, name)
				}
				t0 := time.Now()
				c, pr, err := proxy.StartWorker(env.S, name, cfg)
				if err != nil {
					return "", err
				}
				pc := &proxyCtl{client: c, proc: pr, cfg: cfg}
				pc.bind.Store(int64(time.Since(t0)))
				env.mu.Lock()
				env.proxies[name] = pc
				env.mu.Unlock()
				st, err := c.Stats()
				if err != nil {
					return fmt.Sprintf("proxy %s is pid %d", name, pr.PID), nil
				}
				return fmt.Sprintf("proxy %s is pid %d (%s): %d listener(s), %d thread(s)", name, pr.PID, st.Strategy, st.Listeners, st.Threads), nil
			},
			sh:     shProxyStart(name, cfg, routeToks, tenantRuns),
			undo:   func(*Sh) []string { return []string{"kill -9 ${" + pidOf(name) + ":-} 2>/dev/null"} },
			gocode: goProxyStart(cfg),
		}, p.done()
	},
}

// newProcName reads the name of a process the statement starts (a child,
// a proxy): one the learner can refer to afterwards.
func (p *parser) newProcName(what string) Token {
	return p.checked(what, validProcName)
}

// proxyName reads the name of a proxy an earlier statement started.
func (p *parser) proxyName() Token {
	n := p.word("a proxy's name")
	p.ref(KindProc, n)
	return n
}

// validProcName checks a name for a spawned child or a proxy.
func validProcName(name string) error {
	if name == "" {
		return fmt.Errorf("a name cannot be empty: give one such as c1")
	}
	if name == "self" || name == "host" {
		return fmt.Errorf("%q means something already (self is this process, host the host): pick another name", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("name %q: use letters, digits, '-' and '_'", name)
		}
	}
	if name[0] >= '0' && name[0] <= '9' {
		return fmt.Errorf("name %q: a name starting with a digit reads as a PID", name)
	}
	return nil
}

// proxyOf finds a started proxy.
func proxyOf(env *Env, name string) (*proxyCtl, error) {
	env.mu.Lock()
	defer env.mu.Unlock()
	pc, ok := env.proxies[name]
	if !ok {
		names := slices.Collect(maps.Keys(env.proxies))
		return nil, fmt.Errorf("no proxy called %s (start one with `proxy start %s ...`)%s", name, name, didYouMean(name, names))
	}
	return pc, nil
}

// tenants reads one or more tenant namespaces: words, a,b lists or ranges
// like t{1..100}.
func (p *parser) tenants() []nameRun {
	runs := p.nameRuns("one or more tenant namespaces", lab.ValidateNetnsName)
	refRuns(p, runs)
	return runs
}

func refRuns(p *parser, runs []nameRun) {
	for _, r := range runs {
		for _, n := range r.names {
			p.ref(KindNetns, Token{Text: n, Col: r.tok.Col})
		}
	}
}

var cmdProxyAdd = &Command{
	Name: "proxy add", Usage: "proxy add NAME TENANT...", Summary: "bind every {tenant} route of a proxy inside more namespaces, live",
	Example: "proxy add edge alpha beta",
	parse: proxyTenants("POST", "added", func(pc *proxyCtl, ts []string) error {
		t0 := time.Now()
		defer func() { pc.bind.Add(int64(time.Since(t0))) }() // for compare's bind time
		return pc.client.AddTenant(ts...)
	}, goProxyAdd),
}

var cmdProxyDel = &Command{
	Name: "proxy del", Usage: "proxy del NAME TENANT...", Summary: "close every socket a proxy holds in these tenants",
	Example: "proxy del edge beta",
	parse: proxyTenants("DELETE", "removed", func(pc *proxyCtl, ts []string) error { return pc.client.RemoveTenant(ts...) },
		func([]string) string {
			return "l.Close() // for each of the tenant's listeners: the proxy's last hold on its namespace"
		}),
}

// proxyTenants parses `proxy add|del NAME TENANT...`: do is the call on the
// proxy's control socket (over HTTP method, in the shell equivalent), done
// what the output says of the tenants, gocode the Go for them.
func proxyTenants(method, done string, do func(*proxyCtl, []string) error, gocode func(ts []string) string) func(*parser) (Action, error) {
	return func(p *parser) (Action, error) {
		n := p.proxyName()
		runs := p.tenants()
		name, ts := n.Text, allNames(runs)
		return &act{
			run: onProxy(name, func(_ *Env, pc *proxyCtl) (string, error) {
				if err := do(pc, ts); err != nil {
					return "", err
				}
				return proxySummary(pc, done+" "+summarize(ts))
			}),
			sh:     shTenants(method, name, runs),
			gocode: gocode(ts),
		}, p.done()
	}
}

var cmdProxyStats = &Command{
	Name: "proxy stats", Usage: "proxy stats NAME", Summary: "show a proxy's tenants, listeners, threads, memory and per-route traffic",
	Example: "proxy stats edge",
	parse: named((*parser).proxyName, func(name string) *act {
		return &act{
			run: onProxy(name, func(_ *Env, pc *proxyCtl) (string, error) {
				st, err := pc.client.Stats()
				if err != nil {
					return "", err
				}
				return FormatStats(st), nil
			}),
			sh:     func(*Sh) string { return fmt.Sprintf(`nslab proxy stats --control "$RUN/%s.sock"`, name) },
			prints: true,
			gocode: goProcStatus(),
		}
	}),
}

var cmdProxyStop = &Command{
	Name: "proxy stop", Usage: "proxy stop NAME", Summary: "stop a proxy: it closes every socket in every namespace and exits",
	Example: "proxy stop edge",
	parse: named((*parser).proxyName, func(name string) *act {
		return &act{
			run: onProxy(name, func(env *Env, pc *proxyCtl) (string, error) {
				env.rememberFinal(name, pc) // for a later `compare`
				env.mu.Lock()
				delete(env.proxies, name)
				env.mu.Unlock()
				stopErr := pc.client.Stop()
				pc.client.Close()
				if !waitExit(pc.proc, 10*time.Second) {
					stopErr = fmt.Errorf("proxy %s did not exit within 10s of being asked: killed", name)
				}
				env.S.Kill(name) // reaps it and drops it from the session (a no-op kill if it exited)
				if stopErr != nil {
					return "", stopErr
				}
				return fmt.Sprintf("proxy %s (pid %d) stopped", name, pc.proc.PID), nil
			}),
			sh: func(*Sh) string {
				return fmt.Sprintf("curl -sf --unix-socket \"$RUN/%s.sock\" -X POST http://proxy/stop >/dev/null; wait $%s 2>/dev/null || true", name, pidOf(name))
			},
			gocode: "for _, l := range listeners {\n\tl.Close() // every socket in every namespace\n}",
		}
	}),
}

// onProxy is the run of a command on the running proxy name: it finds the
// proxy (or says there is none), then does.
func onProxy(name string, do func(env *Env, pc *proxyCtl) (string, error)) func(context.Context, *Env) (string, error) {
	return func(_ context.Context, env *Env) (string, error) {
		pc, err := proxyOf(env, name)
		if err != nil {
			return "", err
		}
		return do(env, pc)
	}
}

// goNames renders names as Go arguments, a long list as a spread slice.
func goNames(ns []string) string {
	if len(ns) > 4 {
		return fmt.Sprintf("tenants... /* %s */", summarize(ns))
	}
	return strings.Join(goStrings(ns), ", ")
}

func proxySummary(pc *proxyCtl, what string) (string, error) {
	st, err := pc.client.Stats()
	if err != nil {
		return what, nil
	}
	return fmt.Sprintf("%s: proxy %s has %d tenant(s), %d listener(s), %d thread(s)", what, st.Name, len(st.Tenants), st.Listeners, st.Threads), nil
}

// FormatStats is how the lab shows a proxy's stats (proxy stats, and
// nslab proxy stats).
func FormatStats(st proxy.Stats) string {
	var b strings.Builder
	procs := ""
	if st.GoMaxProcs > 0 { // how many of the threads may run Go code at once
		procs = fmt.Sprintf(" (GOMAXPROCS %d)", st.GoMaxProcs)
		if len(st.Procs) > 1 { // the threads are the whole tree's
			procs = fmt.Sprintf(" (GOMAXPROCS %d in the parent)", st.GoMaxProcs)
		}
	}
	fmt.Fprintf(&b, "proxy %s (%s): %d tenant(s), %d listener(s), %d thread(s)%s, RSS %.1f MB, %d goroutine(s), %d fd(s)\n",
		st.Name, st.Strategy, len(st.Tenants), st.Listeners, st.Threads, procs, float64(st.RSS)/(1<<20), st.Goroutines, st.FDs)
	if len(st.Procs) > 1 {
		fmt.Fprintf(&b, "processes: %d (one per tenant namespace)\n", len(st.Procs))
	}
	for _, r := range st.Routes {
		who := r.Tenant
		if who == "" {
			who = "-"
		}
		fmt.Fprintf(&b, "  %-8s %-10s %s -> %s  conns %d active %d in %dB out %dB errors %d\n",
			r.Route, who, r.Listen, r.Target, r.Conns, r.Active, r.BytesIn, r.BytesOut, r.Errors)
	}
	return strings.TrimRight(b.String(), "\n")
}
