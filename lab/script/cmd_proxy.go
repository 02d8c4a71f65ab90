package script

import (
	"context"
	"fmt"
	"strings"

	"github.com/nslab/nslab/lab/proxy"
)

// proxies are the proxy workers a run started, by name.
func (e *Env) proxyClient(name string) (*proxy.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.proxies[name]
	if !ok {
		return nil, fmt.Errorf("no proxy called %s (start one with `proxy start %s route ...`)", name, name)
	}
	return c, nil
}

var cmdProxyStart = &Command{
	Name:    "proxy start",
	Usage:   "proxy start NAME [strategy=shared|thread-per-namespace|process-per-namespace|blocking-accept] route LISTEN=TARGET... [tenants A,B,...]",
	Summary: "start a proxy worker process that listens in many namespaces ({tenant} in a route is each tenant)",
	Example: "proxy start p1 route {tenant}/tcp/127.0.0.1:8080={tenant}/tcp/10.0.0.1:9000 tenants alpha,beta",
	parse: func(p *parser) (Action, error) {
		n, err := p.word("a name for the proxy")
		if err != nil {
			return nil, err
		}
		cfg := proxy.Config{Name: n.Text}
		for {
			t, ok := p.peek()
			if !ok {
				break
			}
			p.i++
			switch {
			case strings.HasPrefix(t.Text, "strategy="):
				s, err := proxy.ParseStrategy(strings.TrimPrefix(t.Text, "strategy="))
				if err != nil {
					return nil, p.errAt(t, "%v", err)
				}
				cfg.Strategy = s
			case t.Text == "route":
				r, err := p.word("a route LISTEN=TARGET, like alpha/tcp/127.0.0.1:80=alpha/tcp/10.0.0.1:80")
				if err != nil {
					return nil, err
				}
				rt, err := proxy.ParseRouteFlag(r.Text)
				if err != nil {
					return nil, p.errAt(r, "%v", err)
				}
				cfg.Routes = append(cfg.Routes, rt)
			case t.Text == "tenants":
				ts, err := p.word("tenant namespaces, comma-separated")
				if err != nil {
					return nil, err
				}
				cfg.Tenants = append(cfg.Tenants, strings.Split(ts.Text, ",")...)
			default:
				return nil, p.errAt(t, "found `%s`, expected strategy=..., route or tenants", t.Text)
			}
		}
		if len(cfg.Routes) == 0 {
			return nil, p.errAt(Token{Col: p.end}, "a proxy needs at least one `route LISTEN=TARGET`")
		}
		name := cfg.Name
		routes := make([]string, len(cfg.Routes))
		for i, r := range cfg.Routes {
			routes[i] = "--route " + fmt.Sprint(r)
		}
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				c, pr, err := proxy.StartWorker(env.S, name, cfg)
				if err != nil {
					return "", err
				}
				env.mu.Lock()
				env.proxies[name] = c
				env.mu.Unlock()
				return fmt.Sprintf("proxy %s is pid %d (%s strategy), control socket %s", name, pr.PID, orDefault(string(cfg.Strategy), "shared"), c.Path()), nil
			},
			shell:  fmt.Sprintf("nslab proxy --name %s --strategy %s %s &", name, orDefault(string(cfg.Strategy), "shared"), strings.Join(routes, " ")),
			gocode: "c, proc, err := proxy.StartWorker(session, name, proxy.Config{Routes: routes, Tenants: tenants})",
		}, nil
	},
}

func tenantCmd(name, summary string, add bool) *Command {
	verb := map[bool]string{true: "add", false: "del"}[add]
	return &Command{
		Name: name, Usage: name + " NAME TENANT...", Summary: summary, Example: name + " p1 gamma",
		parse: func(p *parser) (Action, error) {
			n, err := p.word("a proxy name")
			if err != nil {
				return nil, err
			}
			tenants := p.rest()
			if len(tenants) == 0 {
				return nil, p.errAt(Token{Col: p.end}, "missing the tenant namespaces")
			}
			pname := n.Text
			method := map[bool]string{true: "POST", false: "DELETE"}[add]
			return &act{
				run: func(_ context.Context, env *Env) (string, error) {
					c, err := env.proxyClient(pname)
					if err != nil {
						return "", err
					}
					if add {
						err = c.AddTenant(tenants...)
					} else {
						err = c.RemoveTenant(tenants...)
					}
					if err != nil {
						return "", err
					}
					return fmt.Sprintf("%s %s: %s", verb, pname, strings.Join(tenants, ", ")), nil
				},
				shell:  fmt.Sprintf("curl -X %s --unix-socket $SOCK 'http://proxy/tenants?name=%s'", method, strings.Join(tenants, "&name=")),
				gocode: fmt.Sprintf("client.%sTenant(%s)", map[bool]string{true: "Add", false: "Remove"}[add], strings.Join(goStrings(tenants), ", ")),
			}, nil
		},
	}
}

var cmdProxyAdd = tenantCmd("proxy add", "bind a proxy's routes in more tenant namespaces, live", true)
var cmdProxyDel = tenantCmd("proxy del", "unbind tenants from a running proxy", false)

var cmdProxyStats = &Command{
	Name: "proxy stats", Usage: "proxy stats NAME", Summary: "a proxy's tenants, listeners, threads, RSS and per-route counters",
	Example: "proxy stats p1",
	parse: func(p *parser) (Action, error) {
		n, err := p.word("a proxy name")
		if err != nil {
			return nil, err
		}
		name := n.Text
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				c, err := env.proxyClient(name)
				if err != nil {
					return "", err
				}
				st, err := c.Stats()
				if err != nil {
					return "", err
				}
				t := st.Total()
				out := fmt.Sprintf("%s (%s): %d tenants, %d listeners, %d threads, RSS %.1f MB, %d goroutines, %d fds\n%d connections (%d active), %d bytes in, %d bytes out, %d errors",
					name, st.Strategy, len(st.Tenants), st.Listeners, st.Threads, float64(st.RSS)/(1<<20), st.Goroutines, st.FDs,
					t.Conns, t.Active, t.BytesIn, t.BytesOut, t.Errors)
				env.setOutput(out)
				return out, nil
			},
			shell:  "curl --unix-socket $SOCK http://proxy/stats",
			gocode: "st, _ := client.Stats()",
		}, p.done()
	},
}

var cmdProxyStop = &Command{
	Name: "proxy stop", Usage: "proxy stop NAME", Summary: "stop a proxy gracefully (every socket closed)", Example: "proxy stop p1",
	parse: func(p *parser) (Action, error) {
		n, err := p.word("a proxy name")
		if err != nil {
			return nil, err
		}
		name := n.Text
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				c, err := env.proxyClient(name)
				if err != nil {
					return "", err
				}
				c.Stop()
				c.Close()
				env.mu.Lock()
				delete(env.proxies, name)
				env.mu.Unlock()
				return "stopped " + name, env.S.Stop(name, 5e9)
			},
			shell:  "curl -X POST --unix-socket $SOCK http://proxy/stop",
			gocode: "client.Stop()",
		}, p.done()
	},
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
