package script

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/nslab/nslab/lab"
)

var cmdListen = &Command{
	Name: "listen", NS: true, Usage: "listen tcp|udp|sctp|http ADDR [-n NS] [raw] [as NAME] | listen unix @NAME [-n NS] [as NAME]",
	Summary: "open a listening socket inside a namespace (tcp, udp, sctp, unix: an echo; http: a web server that answers with its namespace's name); this process's threads stay where they are; `expect accepted` and `expect received` see what reaches it",
	Example: "listen tcp 127.0.0.1:8080 -n alpha as web",
	parse: func(p *parser) (Action, error) {
		proto, a := p.sockAddr(false, "tcp", "udp", "sctp", "http", "unix")
		raw := false
		if t, ok := p.peek(); ok && t.Text == "raw" {
			if proto.Text != "tcp" {
				return nil, p.errAt(t, "raw is for tcp: the path SCTP takes (a non-blocking fd wrapped for the netpoller), shown on TCP")
			}
			p.accept("raw")
			raw = true
		}
		name := ""
		if p.accept("as") {
			t := p.word("a name for the socket")
			name = t.Text
			p.define(KindSocket, t)
		}
		netw, addr, ns := proto.Text, a.Text, p.ns
		named := name != ""
		if !named {
			name = netw + "/" + addr + "@" + nsLabel(ns)
		}
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				env.mu.Lock()
				_, dup := env.sockets[name]
				env.mu.Unlock()
				if dup {
					return "", fmt.Errorf("a socket called %s is open: `close %s` first, or pick another name with `as`", name, name)
				}
				n, err := env.S.NetnsOf(ns)
				if err != nil {
					return "", err
				}
				defer n.Close()
				var c io.Closer
				var local string
				tr := &traffic{}
				if netw == "udp" {
					pc, err := lab.ListenPacketIn(n, "udp", addr)
					if err != nil {
						return "", addrHint(err, addr, ns)
					}
					go echoUDP(pc, tr)
					c, local = pc, pc.LocalAddr().String()
				} else if netw == "unix" {
					var l net.Listener
					err := lab.Do(n, func() (err error) { l, err = net.Listen("unix", addr); return err })
					if err != nil {
						return "", fmt.Errorf("listen on the abstract unix socket %s in %s: %w", addr, nsLabel(ns), err)
					}
					go serveEcho(l, tr)
					c, local = l, addr
				} else if netw == "http" {
					l, err := lab.ListenIn(n, "tcp", addr)
					if err != nil {
						return "", addrHint(err, addr, ns)
					}
					srv := serveHTTP(l, nsLabel(ns), tr)
					c, local = srv, l.Addr().String()
				} else {
					listen := lab.ListenIn
					if raw {
						listen = lab.ListenRawTCPIn
					}
					l, err := listen(n, netw, addr)
					if err != nil {
						return "", addrHint(err, addr, ns)
					}
					go serveEcho(l, tr)
					c, local = l, l.Addr().String()
				}
				env.mu.Lock()
				env.sockets[name] = c
				env.traffic[name] = tr
				env.order = append(env.order, name)
				env.mu.Unlock()
				if netw == "http" {
					return fmt.Sprintf("%s: a web server on %s in %s (answers \"%s: METHOD HOST PATH\")", name, local, nsLabel(ns), nsLabel(ns)), nil
				}
				return fmt.Sprintf("%s listening on %s in %s (answers with what it gets, prefixed by %q)", name, local, nsLabel(ns), "echo: "), nil
			},
			sh:     shListen(ns, netw, addr, name, named),
			gocode: goListen(ns, netw, addr, raw),
		}, p.done()
	},
}

// checkAbstract accepts an abstract unix socket address, @NAME: it lives
// in the network namespace, where a path would be a file of the mount
// namespace.
func checkAbstract(addr string) error {
	if !strings.HasPrefix(addr, "@") || len(addr) < 2 || len(addr) > 107 {
		return fmt.Errorf("unix address %q: want an abstract name like @nslab-echo (a path would be a file, in the mount namespace; an abstract name lives in the network namespace)", addr)
	}
	return nil
}

func checkHostPort(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want IP:PORT, like 127.0.0.1:8080 or [::1]:8080", addr)
	}
	if host != "" {
		if _, err := lab.ParseIP(host); err != nil {
			return fmt.Errorf("%q is not an IP address: the lab uses IP literals only inside namespaces", host)
		}
	}
	return nil
}

func hostOf(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func portOf(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

// serveHTTP answers every request with the namespace's name, the method,
// the Host header and the path: enough to show which tenant a request
// reached. Closing the returned server closes the listener. tr counts
// each request as accepted and records "METHOD HOST PATH" lines received.
func serveHTTP(l net.Listener, label string, tr *traffic) *http.Server {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tr.accept()
			tr.got(fmt.Appendf(nil, "%s %s %s\n", r.Method, r.Host, r.URL.Path))
			fmt.Fprintf(w, "%s: %s %s %s\n", label, r.Method, r.Host, r.URL.Path)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(l)
	return srv
}

// serveEcho answers every connection with "echo: " and what it reads; tr
// counts the connections and keeps what they sent.
func serveEcho(l net.Listener, tr *traffic) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		tr.accept()
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					tr.got(buf[:n])
					c.Write(append([]byte("echo: "), buf[:n]...))
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// echoUDP answers every datagram; tr counts each one as accepted.
func echoUDP(pc net.PacketConn, tr *traffic) {
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		tr.accept()
		tr.got(buf[:n])
		pc.WriteTo(append([]byte("echo: "), buf[:n]...), from)
	}
}

// sockAddr parses `PROTO ADDR`, PROTO one of protos: ADDR is an abstract
// unix name for unix, else HOST:PORT, whose host may be empty (any) only
// if !needHost.
func (p *parser) sockAddr(needHost bool, protos ...string) (proto, addr Token) {
	proto = p.keyword(protos...)
	addr = p.checked("an address like 127.0.0.1:8080", func(a string) error {
		if proto.Text == "unix" {
			return checkAbstract(a)
		}
		if err := checkHostPort(a); err != nil {
			return err
		}
		if needHost && hostOf(a) == "" {
			return fmt.Errorf("give the IP to connect to")
		}
		return nil
	})
	return proto, addr
}

var cmdConnect = &Command{
	Name: "connect", NS: true, Usage: "connect tcp|udp|unix ADDR [-n NS] [send TEXT] | connect http ADDR [-n NS] [host NAME] [path /PATH]",
	Summary: "connect from inside a namespace, send TEXT (or an HTTP GET) and print the answer", Example: "connect tcp 127.0.0.1:8080 -n alpha send hello",
	parse: func(p *parser) (Action, error) {
		proto, a := p.sockAddr(true, "tcp", "udp", "http", "unix")
		if proto.Text == "http" {
			return parseConnectHTTP(p, a.Text)
		}
		text := "hello"
		if p.accept("send") {
			t := p.word("the text to send")
			text = strings.Join(append([]string{t.Text}, p.rest()...), " ")
		}
		netw, addr, ns := proto.Text, a.Text, p.ns
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				c, err := dialFrom(env, ns, netw, addr)
				if err != nil {
					return "", err
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(3 * time.Second))
				if _, err := c.Write([]byte(text)); err != nil {
					return "", err
				}
				var buf []byte
				if hc, ok := c.(interface{ CloseWrite() error }); ok && netw != "udp" {
					// Half-close and read to EOF: the server has closed
					// its side by then, so socket counts after this
					// command are exact.
					hc.CloseWrite()
					buf, err = io.ReadAll(io.LimitReader(c, 1<<16))
				} else {
					b := make([]byte, 4096)
					var k int
					k, err = c.Read(b)
					buf = b[:k]
				}
				if err != nil || len(buf) == 0 {
					return "", fmt.Errorf("no answer from %s: %v", addr, err)
				}
				k := len(buf)
				out := strings.TrimRight(string(buf[:k]), "\n")
				env.setOutput(out)
				return out, nil
			},
			sh:     shConnect(ns, netw, addr, text),
			prints: true,
			gocode: goConnect(ns, netw, addr, text),
		}, p.done()
	},
}

// dialFrom connects to addr from inside the namespace a learner's name
// refers to.
func dialFrom(env *Env, ns, netw, addr string) (net.Conn, error) {
	n, err := env.S.NetnsOf(ns)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	if netw == "unix" {
		// An abstract name is looked up in the namespace the socket is
		// made in: connect(2) answers at once, found or refused.
		var c net.Conn
		err := lab.Do(n, func() (err error) { c, err = net.Dial("unix", addr); return err })
		if err != nil {
			return nil, fmt.Errorf("connect to %s from %s: %w", addr, nsLabel(ns), err)
		}
		return c, nil
	}
	return lab.DialIn(n, netw, addr, 3*time.Second)
}

// parseConnectHTTP reads `connect http ADDR [host NAME] [path /PATH]`: one
// HTTP/1.0 GET from inside the namespace, answered as "STATUS: BODY".
func parseConnectHTTP(p *parser, addr string) (Action, error) {
	host, path := addr, "/"
	for {
		if _, more := p.peek(); !more {
			break
		}
		switch {
		case p.accept("host"):
			host = p.word("a host name for the Host header").Text
		case p.accept("path"):
			t := p.word("a path like /shop")
			if !strings.HasPrefix(t.Text, "/") {
				return nil, p.errAt(t, "a path starts with /, like /shop")
			}
			path = t.Text
		default:
			t := p.word("")
			return nil, p.errAt(t, "found `%s`, expected host NAME or path /PATH", t.Text)
		}
	}
	ns := p.ns
	return &act{
		run: func(_ context.Context, env *Env) (string, error) {
			c, err := dialFrom(env, ns, "tcp", addr)
			if err != nil {
				return "", err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			req, err := http.NewRequest("GET", "http://"+addr+path, nil)
			if err != nil {
				return "", err
			}
			req.Host = host
			req.Close = true
			if err := req.Write(c); err != nil {
				return "", err
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), req)
			if err != nil {
				return "", fmt.Errorf("no HTTP answer from %s: %v", addr, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			if err != nil {
				return "", fmt.Errorf("reading the answer from %s: %v", addr, err)
			}
			out := fmt.Sprintf("%s: %s", resp.Status, strings.TrimRight(string(body), "\n"))
			env.setOutput(out)
			return out, nil
		},
		sh:      shConnectHTTP(ns, addr, host, path),
		prints:  true,
		outTest: httpOutputTest,
		gocode:  goConnectHTTP(ns, addr, host, path),
	}, p.done()
}

var cmdClose = &Command{
	Name: "close", Usage: "close NAME", Summary: "close a socket opened with listen ... as NAME", Example: "close web",
	parse: named((*parser).socket, func(name string) *act {
		return &act{
			run: func(_ context.Context, env *Env) (string, error) {
				env.mu.Lock()
				c, ok := env.sockets[name]
				delete(env.sockets, name)
				delete(env.traffic, name)
				for i, n := range env.order {
					if n == name {
						env.order = append(env.order[:i], env.order[i+1:]...)
						break
					}
				}
				env.mu.Unlock()
				if !ok {
					return "", fmt.Errorf("no open socket called %s", name)
				}
				return "closed " + name, c.Close()
			},
			sh: func(*Sh) string {
				// Its connections first (socat forks one child each; a UDP
				// one never sees an end), then the listener.
				v := pidOf(name)
				return fmt.Sprintf("pkill -P $%s || true; kill $%s; wait $%s 2>/dev/null || true", v, v, v)
			},
			gocode: "l.Close() // the namespace no longer holds a socket of ours",
		}
	}),
}

// socket reads the name of a socket an earlier `listen ... as NAME` opened.
func (p *parser) socket() Token {
	t := p.word("a socket name (listen ... as NAME)")
	p.ref(KindSocket, t)
	return t
}

// addrHint explains the usual cause of "cannot assign requested address": in
// a new namespace even 127.0.0.1 is missing until lo is up.
func addrHint(err error, addr, ns string) error {
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("%w: no link in %s has %s; in a new namespace even lo starts down (`link set lo up -n %s`)", err, nsLabel(ns), hostOf(addr), nsLabel(ns))
	}
	return err
}
