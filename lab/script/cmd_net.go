package script

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nslab/nslab/lab"
)

// act is an Action made of closures: most commands are one call. Its
// shell and Go equivalents are in equiv_*.go.
type act struct {
	run func(ctx context.Context, env *Env) (string, error)
	sh  func(x *Sh) string
	// undo, if set, is what removes what the command made, for a
	// script's teardown.
	undo func(x *Sh) []string
	// prints: the shell command prints what `expect output` reads.
	prints bool
	// outTest, if set, is how `expect output contains|lacks TEXT` reads
	// this command's shell output, where it differs from nslab's.
	outTest func(text string, contains bool) string
	gocode  string
	// inodeOf is a lab namespace the command finds by inode (holders):
	// see Sh.Plan.
	inodeOf string
}

func (a *act) Run(ctx context.Context, env *Env) (string, error) { return a.run(ctx, env) }
func (a *act) Shell(x *Sh) string                                { return a.sh(x) }
func (a *act) Go() string                                        { return a.gocode }

var cmdNetnsAdd = &Command{
	Name: "netns add", Usage: "netns add NAME... (or a range: t{1..100})", Summary: "create network namespaces (nslab-NAME, visible to ip netns)",
	Example: "netns add alpha",
	parse: func(p *parser) (Action, error) {
		runs, names, goName := netnsNames(p, true)
		return &act{
			run: func(ctx context.Context, env *Env) (string, error) {
				var ino uint64
				made, err := eachName(ctx, env, names, func(name string) error {
					ns, err := env.S.AddNetns(name)
					if err == nil {
						ino = ns.Inode()
						env.rememberNs(name, ino)
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
			sh:     shNetnsAdd(runs),
			undo:   undoNetnsAdd(runs),
			gocode: goNetnsAdd(goName),
		}, p.done()
	},
}

var cmdNetnsDel = &Command{
	Name: "netns del", Usage: "netns del NAME... (or a range: t{1..100})", Summary: "remove network namespaces the lab created",
	Example: "netns del alpha",
	parse: func(p *parser) (Action, error) {
		runs, names, goName := netnsNames(p, false)
		return &act{
			run: func(ctx context.Context, env *Env) (string, error) {
				gone, err := eachName(ctx, env, names, env.S.DelNetns)
				if err != nil {
					return "", err
				}
				return "removed " + summarize(gone), nil
			},
			sh:     shNetnsDel(runs),
			gocode: goNetnsDel(goName),
		}, p.done()
	},
}

// netnsNames reads the names (and ranges) of netns add, which makes them,
// or netns del, which needs them made before; goName is how the Go snippet
// names them.
func netnsNames(p *parser, add bool) (runs []nameRun, names []string, goName string) {
	valid := func(string) error { return nil }
	if add {
		valid = lab.ValidateNetnsName
	}
	runs = p.nameRuns("a namespace name", valid)
	if p.err != nil {
		return nil, nil, ""
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
	return runs, names, goName
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
			sh:     func(*Sh) string { return "ip netns list" },
			prints: true,
			gocode: "entries, _ := os.ReadDir(\"/run/netns\")",
		}, p.done()
	},
}

var cmdLinkAdd = &Command{
	Name: "link add", NS: true,
	Usage:   "link add NAME type veth peer PEER [netns NS] [-n NS] | link add NAME type bridge [-n NS]",
	Summary: "create a veth pair (either end in any namespace) or a bridge", Example: "link add va type veth peer vb netns beta -n alpha",
	parse: func(p *parser) (Action, error) {
		n := p.word("a link name")
		p.keyword("type")
		typ := p.keyword("veth", "bridge")
		name, ns := n.Text, p.ns
		if err := lab.ValidateLinkName(name, lab.IsHost(ns)); err != nil {
			return nil, p.errAt(n, "%v", err)
		}
		if typ.Text == "bridge" {
			return &act{
				run: func(_ context.Context, env *Env) (string, error) {
					return "", env.S.AddBridge(name, ns)
				},
				sh:     shBridgeAdd(ns, name),
				undo:   undoLinkAdd(ns, name),
				gocode: goBridgeAdd(ns, name),
			}, p.done()
		}
		p.keyword("peer")
		pt := p.word("the peer's name")
		peer, peerNS := pt.Text, ns
		if p.accept("netns") {
			t := p.word("a namespace for the peer")
			peerNS = t.Text
			if !lab.IsHost(peerNS) {
				p.ref(KindNetns, t)
			}
		}
		if err := lab.ValidateLinkName(peer, lab.IsHost(peerNS)); err != nil {
			return nil, p.errAt(pt, "%v", err)
		}
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				return "", env.S.AddVeth(name, ns, peer, peerNS)
			},
			sh:     shVethAdd(name, ns, peer, peerNS),
			undo:   undoVethAdd(name, ns, peer, peerNS),
			gocode: goVethAdd(name, ns, peer, peerNS),
		}, p.done()
	},
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
		n := p.word("a link name")
		verb := p.keyword("up", "down", "master", "netns")
		name, ns := n.Text, p.ns
		switch verb.Text {
		case "up", "down":
			up := verb.Text == "up"
			fn := map[bool]string{true: "LinkSetUp", false: "LinkSetDown"}[up]
			return &act{
				run:    func(_ context.Context, env *Env) (string, error) { return "", env.S.SetLinkUp(name, ns, up) },
				sh:     func(x *Sh) string { return fmt.Sprintf("%s link set %s %s", x.ip(ns), x.link(ns, name), verb.Text) },
				gocode: goLinkSetUp(ns, name, fn),
			}, p.done()
		case "master":
			br := p.word("a bridge name").Text
			return &act{
				run: func(_ context.Context, env *Env) (string, error) { return "", env.S.SetMaster(name, br, ns) },
				sh: func(x *Sh) string {
					return fmt.Sprintf("%s link set %s master %s", x.ip(ns), x.link(ns, name), x.link(ns, br))
				},
				gocode: goLinkSetMaster(ns, name, br),
			}, p.done()
		}
		t := p.word("a target namespace (a lab namespace, a spawned child, or host)")
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
			sh:     shLinkSetNetns(ns, name, to),
			gocode: goLinkSetNetns(ns, name, to),
		}, p.done()
	},
}

var cmdLinkDel = &Command{
	Name: "link del", NS: true, Usage: "link del NAME [-n NS]", Summary: "delete a link the lab created (a veth takes its peer)",
	Example: "link del va -n alpha",
	parse: func(p *parser) (Action, error) {
		n := p.word("a link name")
		name, ns := n.Text, p.ns
		return &act{
			run:    func(_ context.Context, env *Env) (string, error) { return "", env.S.DelLink(name, ns) },
			sh:     func(x *Sh) string { return fmt.Sprintf("%s link del %s", x.ip(ns), x.link(ns, name)) },
			gocode: goLinkDel(ns, name),
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
			sh:     func(x *Sh) string { return x.ip(ns) + " -br addr" },
			prints: true,
			gocode: goLinkShow(ns),
		}, p.done()
	},
}

var cmdAddrAdd = &Command{
	Name: "addr add", NS: true, Usage: "addr add CIDR dev NAME [-n NS]", Summary: "give a link an address (IPv4 or IPv6)",
	Example: "addr add 10.0.0.1/24 dev va -n alpha",
	parse: func(p *parser) (Action, error) {
		c := p.checked("an address like 10.0.0.1/24", isCIDR)
		p.keyword("dev")
		d := p.word("a link name")
		cidr, dev, ns := c.Text, d.Text, p.ns
		return &act{
			run:    func(_ context.Context, env *Env) (string, error) { return "", env.S.AddAddr(cidr, dev, ns) },
			sh:     func(x *Sh) string { return fmt.Sprintf("%s addr add %s dev %s", x.ip(ns), cidr, x.link(ns, dev)) },
			gocode: goAddrAdd(ns, dev, cidr),
		}, p.done()
	},
}

var cmdRouteAdd = &Command{
	Name: "route add", NS: true, Usage: "route add default|CIDR via IP [dev NAME] [-n NS]", Summary: "add a route (default via a gateway, or to a subnet)",
	Example: "route add default via 10.0.0.1 -n alpha",
	parse: func(p *parser) (Action, error) {
		dst := p.checked("`default` or a destination like 10.1.0.0/16", func(s string) error {
			if s == "default" {
				return nil
			}
			return isCIDR(s)
		}).Text
		p.keyword("via")
		via := p.checked("a gateway IP", isIP).Text
		dev := ""
		if p.accept("dev") {
			dev = p.word("a link name").Text
		}
		ns := p.ns
		return &act{
			run:    func(_ context.Context, env *Env) (string, error) { return "", env.S.AddRoute(dst, via, dev, ns) },
			sh:     shRouteAdd(ns, dst, via, dev),
			gocode: goRouteAdd(ns, dst, via),
		}, p.done()
	},
}

var cmdPing = &Command{
	Name: "ping", NS: true, Usage: "ping IP [-n NS] [-c N]", Summary: "send ICMP echo requests from inside a namespace (no ping binary needed)",
	Example: "ping 10.0.0.2 -n alpha -c 3",
	parse: func(p *parser) (Action, error) {
		t := p.checked("an IP address", isIP)
		count := 3
		if p.accept("-c") {
			c := p.word("a count")
			var err error
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
			sh: func(x *Sh) string {
				return x.in(ns, fmt.Sprintf("ping -c %d -i 0.2 -W 1 %s", count, ip))
			},
			prints: true,
			gocode: goPing(ns, ip),
		}, p.done()
	},
}

func nsLabel(ns string) string {
	if lab.IsHost(ns) {
		return "host"
	}
	return ns
}
