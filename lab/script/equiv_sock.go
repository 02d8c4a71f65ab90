package script

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/nslab/nslab/lab"
)

// The shell and Go equivalents of listen, connect and close. In the shell
// a listener is a socat in the background (started inside the namespace);
// it answers as nslab's do: an echo prefixed "echo: ", or for http a line
// naming the namespace, the method, the Host and the path.

func shListen(ns, netw, addr, name string, named bool) func(*Sh) string {
	return func(x *Sh) string {
		host, port := hostOf(addr), portOf(addr)
		proto := strings.ToUpper(netw)
		// A listener whose traffic a later check reads logs it: a line
		// per connection in $RUN/NAME.conns, the bytes in $RUN/NAME.in.
		logged := named && x.logged[name]
		log := fmt.Sprintf("$RUN/%s", safeFile(name))
		handler := `"SYSTEM:\"printf 'echo: '; exec cat\""`
		var pre string
		if logged {
			handler = fmt.Sprintf(`"SYSTEM:\"echo >> %s.conns; printf 'echo: '; exec tee -a %s.in\""`, log, log)
			pre = fmt.Sprintf(": > %s.conns; : > %s.in # what it accepts and receives\n", log, log)
		}
		if netw == "http" {
			proto = "TCP"
			file := fmt.Sprintf(`$RUN/%s.http`, safeFile(name))
			var record, arg string
			if logged {
				record, arg = `echo >> "$1.conns"; echo "$method $host $path" >> "$1.in"`+"\n", " "+log
			}
			pre += fmt.Sprintf(`cat > "%s" <<'EOF'
read -r method path version; host=
while read -r line; do line=${line%%"$(printf '\r')"}; [ -z "$line" ] && break; case $line in [Hh]ost:*) host=${line#*: };; esac; done
%sprintf 'HTTP/1.0 200 OK\r\n\r\n%s: %%s %%s %%s\n' "$method" "$host" "$path"
EOF
`, file, record, nsLabel(ns))
			handler = fmt.Sprintf(`EXEC:"sh %s%s"`, file, arg)
		}
		listen := fmt.Sprintf("%s-LISTEN:%s,bind=%s,fork,reuseaddr", proto, port, host)
		wait := fmt.Sprintf("ss %s 'sport = :%s'", map[string]string{"TCP": "-Hltn", "UDP": "-Hlun", "SCTP": "-HlSn"}[proto], port)
		if netw == "unix" {
			// An abstract name, in the namespace's own table (socat's
			// ABSTRACT- addresses leave out the @ that ss shows).
			listen = "ABSTRACT-LISTEN:" + addr[1:] + ",fork"
			wait = "ss -Hlx src " + addr
		}
		s := pre + x.in(ns, fmt.Sprintf("socat %s %s", listen, handler)) + " &"
		if named {
			s += " " + pidOf(name) + "=$!"
		}
		return s + fmt.Sprintf("\nuntil %s | grep -q .; do sleep 0.1; done # until it listens", x.in(ns, wait))
	}
}

// safeFile makes a socket's name usable as a file name.
func safeFile(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func goListen(ns, netw, addr string, raw bool) string {
	network, serve := netw, "go serve(l) // the netpoller serves it from whichever thread is free"
	if netw == "http" {
		network, serve = "tcp", "go http.Serve(l, handler) // from whichever thread is free"
	}
	if raw {
		return fmt.Sprintf(`var l net.Listener
nsdo.Do(%s, func() (err error) {
	// by hand, as SCTP needs: a non-blocking socket(2), bind, listen
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	...
	l, err = newRawListener(os.NewFile(uintptr(fd), %q)) // accept4 through the file's RawConn: EAGAIN parks the goroutine
	return err
})
// docs/examples/nsproxy/rawfd.go`, nsPathGo(ns), addr)
	}
	if lab.IsHost(ns) {
		return fmt.Sprintf("l, err := net.Listen(%q, %q) // the host's stack\n%s", network, addr, serve)
	}
	listen := fmt.Sprintf("net.Listen(%q, %q)", network, addr)
	if netw == "udp" {
		listen = fmt.Sprintf("net.ListenPacket(%q, %q)", network, addr)
	}
	return fmt.Sprintf("var l net.Listener\nnsdo.Do(%s, func() (err error) { // lock, setns, listen, setns back\n\tl, err = %s // an IP literal: no resolver goroutine\n\treturn err\n})\n%s",
		nsPathGo(ns), listen, serve)
}

func shConnect(ns, netw, addr, text string) func(*Sh) string {
	return func(x *Sh) string {
		to := strings.ToUpper(netw) + ":" + addr
		if netw == "unix" {
			to = "ABSTRACT-CONNECT:" + addr[1:]
		}
		return fmt.Sprintf("echo %s | %s", quote(text), x.in(ns, "socat - "+to))
	}
}

func goConnect(ns, netw, addr, text string) string {
	dial := fmt.Sprintf("c, err := net.Dial(%q, %q)", netw, addr)
	if !lab.IsHost(ns) {
		dial = fmt.Sprintf("var c net.Conn\nnsdo.Do(%s, func() (err error) {\n\tc, err = net.Dial(%q, %q) // the socket is made inside\n\treturn err\n})", nsPathGo(ns), netw, addr)
	}
	return fmt.Sprintf("%s\nc.Write([]byte(%q))", dial, text)
}

func shConnectHTTP(ns, addr, host, path string) func(*Sh) string {
	return func(x *Sh) string {
		return x.in(ns, fmt.Sprintf("curl -si -H %s http://%s%s", quote("Host: "+host), addr, path))
	}
}

// statusRe matches the start of nslab's answer line: "200 OK: body".
var statusRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\d\d\d [A-Za-z ]+): (.*)$`) })

// httpOutputTest reads `expect output contains "STATUS: BODY"` from curl
// -si, which prints the status line and the body apart.
func httpOutputTest(text string, contains bool) string {
	m := statusRe().FindStringSubmatch(text)
	if !contains || m == nil {
		return outputTest(text, contains)
	}
	return outputTest(m[1], true) + " && " + outputTest(m[2], true)
}

// outputTest is a condition on the last captured output, $OUT.
func outputTest(text string, contains bool) string {
	t := `printf '%s\n' "$OUT" | grep -qF -- ` + quote(text)
	if !contains {
		return "! " + t
	}
	return t
}

func goConnectHTTP(ns, addr, host, path string) string {
	return fmt.Sprintf(`tr := &http.Transport{DialContext: func(ctx context.Context, network, address string) (c net.Conn, err error) {
	nsdo.Do(%s, func() error { c, err = net.Dial(network, address); return err })
	return c, err // a connection made inside the namespace
}}
req, _ := http.NewRequest("GET", "http://%s%s", nil)
req.Host = %q
resp, err := tr.RoundTrip(req)`, nsPathGo(ns), addr, path, host)
}
