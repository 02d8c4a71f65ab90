package script

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nslab/nslab/lab"
)

// act is an Action made of closures: most commands are one call.
type act struct {
	run    func(ctx context.Context, env *Env) (string, error)
	shell  string
	gocode string
}

func (a *act) Run(ctx context.Context, env *Env) (string, error) { return a.run(ctx, env) }
func (a *act) Shell() string                                     { return a.shell }
func (a *act) Go() string                                        { return a.gocode }

// ipN renders "ip -n nslab-NS" (or plain "ip" on the host).
func ipN(ns string) string {
	if lab.IsHost(ns) {
		return "ip"
	}
	return "ip -n " + lab.SysName(ns)
}

// linkName is what a link is called on the system (host links carry the
// prefix); shown in shell lines.
func linkName(ns, name string) string { return lab.LinkSysName(ns, name) }

// inNS renders the Go that wraps a call in the namespace switch.
func inNS(ns, body string) string {
	if lab.IsHost(ns) {
		return body
	}
	return fmt.Sprintf("ns, _ := netns.GetFromName(%q)\ndefer ns.Close()\n// lock the thread, setns(ns), run, setns back (lab.Do)\nlab.Do(ns, func() error {\n%s\n})", lab.SysName(ns), indent(body))
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "\t" + l
	}
	return strings.Join(lines, "\n")
}

var cmdNetnsAdd = &Command{
	Name: "netns add", Usage: "netns add NAME... (or a range: t{1..100})", Summary: "create network namespaces (nslab-NAME, visible to ip netns)",
	Example: "netns add alpha",
	parse: func(p *parser) (Action, error) {
		runs, names, goName, err := netnsNames(p, true)
		if err != nil {
			return nil, err
		}
		return &act{
			run: func(ctx context.Context, env *Env) (string, error) {
				var ino uint64
				made, err := eachName(ctx, env, names, func(name string) error {
					ns, err := env.S.AddNetns(name)
					if err == nil {
						ino = ns.Inode()
						ns.Close()
					}
					return err
				})
				switch {
				case err != nil:
					return strings.Join(made, "\n"), err
				case len(names) == 1:
					return fmt.Sprintf("created %s (net:[%d])", made[0], ino), nil
				}
				return "created " + summarize(made), nil
			},
			shell:  shellFor(runs, func(n string) string { return "ip netns add " + lab.SysName(n) }),
			gocode: fmt.Sprintf("runtime.LockOSThread()\norigin, _ := netns.Get()\nns, err := netns.NewNamed(%s) // unshare(CLONE_NEWNET) + bind mount in /run/netns\nif netns.Set(origin) == nil { // back to where this thread was...\n\truntime.UnlockOSThread()    // ...or stay locked: the thread dies with the goroutine\n}", goName),
		}, nil
	},
}

var cmdNetnsDel = &Command{
	Name: "netns del", Usage: "netns del NAME... (or a range: t{1..100})", Summary: "remove network namespaces the lab created",
	Example: "netns del alpha",
	parse: func(p *parser) (Action, error) {
		runs, names, goName, err := netnsNames(p, false)
		if err != nil {
			return nil, err
		}
		return &act{
			run: func(ctx context.Context, env *Env) (string, error) {
				gone, err := eachName(ctx, env, names, env.S.DelNetns)
				if err != nil {
					return "", err
				}
				return "removed " + summarize(gone), nil
			},
			shell:  shellFor(runs, func(n string) string { return "ip netns del " + lab.SysName(n) }),
			gocode: fmt.Sprintf("netns.DeleteNamed(%s) // unmount + remove; the kernel frees it when unused", goName),
		}, nil
	},
}

// netnsNames reads the names (and ranges) of netns add, which makes them,
// or netns del, which needs them made before; goName is how the Go snippet
// names them.
func netnsNames(p *parser, add bool) (runs []nameRun, names []string, goName string, err error) {
	valid := func(string) error { return nil }
	if add {
		valid = lab.ValidateNetnsName
	}
	runs, err = p.nameRuns("a namespace name", valid)
	if err != nil {
		return nil, nil, "", err
	}
	if add {
		for _, r := range runs {
			for _, n := range r.names {
				p.define(KindNetns, Token{Text: n, Col: r.tok.Col})
			}
		}
	} else {
		refRuns(p, runs)
	}
	names = allNames(runs)
	goName = fmt.Sprintf("%q", lab.SysName(names[0]))
	if len(names) > 1 {
		goName = "name // for each namespace"
	}
	return runs, names, goName, nil
}

// eachName runs fn on every name in turn, telling the runner how far it
// has got, and stops at the first error or when ctx ends (Ctrl-C in the
// middle of t{1..1000}). It returns the system names of those done.
func eachName(ctx context.Context, env *Env, names []string, fn func(string) error) ([]string, error) {
	var done []string
	for i, name := range names {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		env.report(i, len(names))
		if err := fn(name); err != nil {
			return done, err
		}
		done = append(done, lab.SysName(name))
	}
	return done, nil
}

var cmdNetnsList = &Command{
	Name: "netns list", Usage: "netns list", Summary: "list the lab's network namespaces", Example: "netns list",
	parse: func(p *parser) (Action, error) {
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				names := env.S.NetnsList()
				if len(names) == 0 {
					return "no lab namespaces", nil
				}
				return strings.Join(names, "\n"), nil
			},
			shell:  "ip netns list",
			gocode: "entries, _ := os.ReadDir(\"/run/netns\")",
		}, p.done()
	},
}

var cmdLinkAdd = &Command{
	Name: "link add", NS: true,
	Usage:   "link add NAME type veth peer PEER [netns NS] [-n NS] | link add NAME type bridge [-n NS]",
	Summary: "create a veth pair (either end in any namespace) or a bridge", Example: "link add va type veth peer vb netns beta -n alpha",
	parse: func(p *parser) (Action, error) {
		n, err := p.word("a link name")
		if err != nil {
			return nil, err
		}
		if _, err := p.keyword("type"); err != nil {
			return nil, err
		}
		typ, err := p.keyword("veth", "bridge")
		if err != nil {
			return nil, err
		}
		name, ns := n.Text, p.ns
		if err := lab.ValidateLinkName(name, lab.IsHost(ns)); err != nil {
			return nil, p.errAt(n, "%v", err)
		}
		if typ.Text == "bridge" {
			return &act{
				run: func(_ context.Context, env *Env) (string, error) {
					return "", env.S.AddBridge(name, ns)
				},
				shell:  fmt.Sprintf("%s link add %s type bridge", ipN(ns), linkName(ns, name)),
				gocode: inNS(ns, fmt.Sprintf("netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: %q}})", linkName(ns, name))),
			}, p.done()
		}
		if _, err := p.keyword("peer"); err != nil {
			return nil, err
		}
		pt, err := p.word("the peer's name")
		if err != nil {
			return nil, err
		}
		peer, peerNS := pt.Text, ns
		if p.accept("netns") {
			t, err := p.word("a namespace for the peer")
			if err != nil {
				return nil, err
			}
			peerNS = t.Text
			if !lab.IsHost(peerNS) {
				p.ref(KindNetns, t)
			}
		}
		if err := lab.ValidateLinkName(peer, lab.IsHost(peerNS)); err != nil {
			return nil, p.errAt(pt, "%v", err)
		}
		sh := fmt.Sprintf("%s link add %s type veth peer name %s", ipN(ns), linkName(ns, name), linkName(peerNS, peer))
		peerGo := ""
		if peerNS != ns {
			sh += " netns " + nsShell(peerNS)
			peerGo = fmt.Sprintf(",\n\tPeerNamespace: netlink.NsFd(int(%sNs)),", goIdent(peerNS))
		}
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				return "", env.S.AddVeth(name, ns, peer, peerNS)
			},
			shell: sh,
			gocode: inNS(ns, fmt.Sprintf("netlink.LinkAdd(&netlink.Veth{\n\tLinkAttrs: netlink.LinkAttrs{Name: %q},\n\tPeerName:  %q%s\n})",
				linkName(ns, name), linkName(peerNS, peer), peerGo)),
		}, p.done()
	},
}

func nsShell(ns string) string {
	if lab.IsHost(ns) {
		return "1" // PID 1's namespace: the host's
	}
	return lab.SysName(ns)
}

func goIdent(ns string) string {
	var b strings.Builder
	for _, r := range lab.ShortName(ns) {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "peer"
	}
	return b.String()
}

var cmdLinkSet = &Command{
	Name: "link set", NS: true, Usage: "link set NAME up|down|master BRIDGE|netns NS [-n NS]",
	Summary: "bring a link up or down, join it to a bridge, or move it to another namespace", Example: "link set va up -n alpha",
	parse: func(p *parser) (Action, error) {
		n, err := p.word("a link name")
		if err != nil {
			return nil, err
		}
		verb, err := p.keyword("up", "down", "master", "netns")
		if err != nil {
			return nil, err
		}
		name, ns := n.Text, p.ns
		switch verb.Text {
		case "up", "down":
			up := verb.Text == "up"
			fn := map[bool]string{true: "LinkSetUp", false: "LinkSetDown"}[up]
			return &act{
				run:    func(_ context.Context, env *Env) (string, error) { return "", env.S.SetLinkUp(name, ns, up) },
				shell:  fmt.Sprintf("%s link set %s %s", ipN(ns), linkName(ns, name), verb.Text),
				gocode: inNS(ns, fmt.Sprintf("l, _ := netlink.LinkByName(%q)\nnetlink.%s(l)", linkName(ns, name), fn)),
			}, p.done()
		case "master":
			b, err := p.word("a bridge name")
			if err != nil {
				return nil, err
			}
			br := b.Text
			return &act{
				run:    func(_ context.Context, env *Env) (string, error) { return "", env.S.SetMaster(name, br, ns) },
				shell:  fmt.Sprintf("%s link set %s master %s", ipN(ns), linkName(ns, name), linkName(ns, br)),
				gocode: inNS(ns, fmt.Sprintf("l, _ := netlink.LinkByName(%q)\nbr, _ := netlink.LinkByName(%q)\nnetlink.LinkSetMaster(l, br)", linkName(ns, name), linkName(ns, br))),
			}, p.done()
		}
		t, err := p.word("a target namespace (a lab namespace, a spawned child, or host)")
		if err != nil {
			return nil, err
		}
		to := t.Text
		if !lab.IsHost(to) {
			p.ref(KindNetns, t)
		}
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				target, err := env.S.NetnsOf(to)
				if err != nil {
					return "", err
				}
				defer target.Close()
				return "", env.S.MoveLink(name, ns, target, to)
			},
			shell:  fmt.Sprintf("%s link set %s netns %s", ipN(ns), linkName(ns, name), nsShell(to)),
			gocode: inNS(ns, fmt.Sprintf("l, _ := netlink.LinkByName(%q)\ntarget, _ := netns.GetFromName(%q) // or netns.GetFromPid(pid)\nnetlink.LinkSetNsFd(l, int(target))", linkName(ns, name), lab.SysName(to))),
		}, p.done()
	},
}

var cmdLinkDel = &Command{
	Name: "link del", NS: true, Usage: "link del NAME [-n NS]", Summary: "delete a link the lab created (a veth takes its peer)",
	Example: "link del va -n alpha",
	parse: func(p *parser) (Action, error) {
		n, err := p.word("a link name")
		if err != nil {
			return nil, err
		}
		name, ns := n.Text, p.ns
		return &act{
			run:    func(_ context.Context, env *Env) (string, error) { return "", env.S.DelLink(name, ns) },
			shell:  fmt.Sprintf("%s link del %s", ipN(ns), linkName(ns, name)),
			gocode: inNS(ns, fmt.Sprintf("l, _ := netlink.LinkByName(%q)\nnetlink.LinkDel(l)", linkName(ns, name))),
		}, p.done()
	},
}

var cmdLinkShow = &Command{
	Name: "link show", NS: true, Usage: "link show [-n NS]", Summary: "list the links of a namespace", Example: "link show -n alpha",
	parse: func(p *parser) (Action, error) {
		ns := p.ns
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				links, err := env.S.Links(ns)
				if err != nil {
					return "", err
				}
				var b strings.Builder
				for _, l := range links {
					state := "DOWN"
					if l.Up {
						state = "UP"
					}
					fmt.Fprintf(&b, "%-12s %-8s %-5s %s", l.Name, l.Type, state, strings.Join(l.Addrs, " "))
					if l.Master != "" {
						fmt.Fprintf(&b, " master %s", l.Master)
					}
					b.WriteByte('\n')
				}
				return strings.TrimRight(b.String(), "\n"), nil
			},
			shell:  ipN(ns) + " -br addr",
			gocode: inNS(ns, "links, _ := netlink.LinkList()"),
		}, p.done()
	},
}

var cmdAddrAdd = &Command{
	Name: "addr add", NS: true, Usage: "addr add CIDR dev NAME [-n NS]", Summary: "give a link an address (IPv4 or IPv6)",
	Example: "addr add 10.0.0.1/24 dev va -n alpha",
	parse: func(p *parser) (Action, error) {
		c, err := p.word("an address like 10.0.0.1/24")
		if err != nil {
			return nil, err
		}
		if _, err := lab.ParseCIDR(c.Text); err != nil {
			return nil, p.errAt(c, "%v", err)
		}
		if _, err := p.keyword("dev"); err != nil {
			return nil, err
		}
		d, err := p.word("a link name")
		if err != nil {
			return nil, err
		}
		cidr, dev, ns := c.Text, d.Text, p.ns
		return &act{
			run:    func(_ context.Context, env *Env) (string, error) { return "", env.S.AddAddr(cidr, dev, ns) },
			shell:  fmt.Sprintf("%s addr add %s dev %s", ipN(ns), cidr, linkName(ns, dev)),
			gocode: inNS(ns, fmt.Sprintf("l, _ := netlink.LinkByName(%q)\naddr, _ := netlink.ParseAddr(%q)\nnetlink.AddrAdd(l, addr)", linkName(ns, dev), cidr)),
		}, p.done()
	},
}

var cmdRouteAdd = &Command{
	Name: "route add", NS: true, Usage: "route add default|CIDR via IP [dev NAME] [-n NS]", Summary: "add a route (default via a gateway, or to a subnet)",
	Example: "route add default via 10.0.0.1 -n alpha",
	parse: func(p *parser) (Action, error) {
		d, err := p.word("`default` or a destination like 10.1.0.0/16")
		if err != nil {
			return nil, err
		}
		if d.Text != "default" {
			if _, err := lab.ParseCIDR(d.Text); err != nil {
				return nil, p.errAt(d, "%v", err)
			}
		}
		if _, err := p.keyword("via"); err != nil {
			return nil, err
		}
		g, err := p.word("a gateway IP")
		if err != nil {
			return nil, err
		}
		if _, err := lab.ParseIP(g.Text); err != nil {
			return nil, p.errAt(g, "%v", err)
		}
		dev := ""
		if p.accept("dev") {
			t, err := p.word("a link name")
			if err != nil {
				return nil, err
			}
			dev = t.Text
		}
		dst, via, ns := d.Text, g.Text, p.ns
		sh := fmt.Sprintf("%s route add %s via %s", ipN(ns), dst, via)
		if dev != "" {
			sh += " dev " + linkName(ns, dev)
		}
		dstGo := fmt.Sprintf("_, dst, _ := net.ParseCIDR(%q)", dst)
		if dst == "default" {
			dstGo = "dst := (*net.IPNet)(nil) // default route"
		}
		return &act{
			run:    func(_ context.Context, env *Env) (string, error) { return "", env.S.AddRoute(dst, via, dev, ns) },
			shell:  sh,
			gocode: inNS(ns, fmt.Sprintf("%s\nnetlink.RouteAdd(&netlink.Route{Dst: dst, Gw: net.ParseIP(%q)})", dstGo, via)),
		}, p.done()
	},
}

var cmdPing = &Command{
	Name: "ping", NS: true, Usage: "ping IP [-n NS] [-c N]", Summary: "send ICMP echo requests from inside a namespace (no ping binary needed)",
	Example: "ping 10.0.0.2 -n alpha -c 3",
	parse: func(p *parser) (Action, error) {
		t, err := p.word("an IP address")
		if err != nil {
			return nil, err
		}
		if _, err := lab.ParseIP(t.Text); err != nil {
			return nil, p.errAt(t, "%v", err)
		}
		count := 3
		if p.accept("-c") {
			c, err := p.word("a count")
			if err != nil {
				return nil, err
			}
			if count, err = strconv.Atoi(c.Text); err != nil || count < 1 || count > 100 {
				return nil, p.errAt(c, "count %q: want a number from 1 to 100", c.Text)
			}
		}
		ip, ns := t.Text, p.ns
		return &act{
			run: func(ctx context.Context, env *Env) (string, error) {
				r, err := env.S.Ping(ns, ip, lab.PingOptions{Count: count, Timeout: time.Second})
				if err != nil {
					return "", err
				}
				out := fmt.Sprintf("PING %s from %s: %s", ip, nsLabel(ns), r)
				if !r.OK() {
					return out, fmt.Errorf("no reply from %s", ip)
				}
				return out, nil
			},
			shell: func() string {
				if lab.IsHost(ns) {
					return fmt.Sprintf("ping -c %d %s", count, ip)
				}
				return fmt.Sprintf("ip netns exec %s ping -c %d %s", lab.SysName(ns), count, ip)
			}(),
			gocode: fmt.Sprintf("var c *icmp.PacketConn\nlab.Do(ns, func() (err error) { // the socket is born in %s\n\tc, err = icmp.ListenPacket(\"ip4:icmp\", \"0.0.0.0\")\n\treturn err\n})\nmsg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: 1}}\nb, _ := msg.Marshal(nil)\nc.WriteTo(b, &net.IPAddr{IP: net.ParseIP(%q)})", nsLabel(ns), ip),
		}, p.done()
	},
}

func nsLabel(ns string) string {
	if lab.IsHost(ns) {
		return "host"
	}
	return ns
}
