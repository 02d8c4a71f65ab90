package proxy_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// A UDP client's session (its upstream socket) ends after UDPIdle without
// traffic; the next datagram from the same client opens a new one.
func TestUDPSessionEndsAfterIdle(t *testing.T) {
	w := newWorld(t, 1, true)
	name := w.names[0]
	p := mustNew(t, proxy.Config{
		Name:    "udp-idle",
		Routes:  []proxy.Route{route("dns", "{tenant}/udp/127.0.0.1:8080", "{tenant}/udp/10.0.0.1:9000")},
		Tenants: w.names, UDPIdle: 500 * time.Millisecond, Rescan: -1,
	})
	c, err := lab.DialIn(w.nss[name], "udp", "127.0.0.1:8080", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask := func(msg string) {
		t.Helper()
		buf := make([]byte, 256)
		for range 20 {
			c.Write([]byte(msg))
			c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
			if n, err := c.Read(buf); err == nil {
				if got := string(buf[:n]); got != name+":"+msg {
					t.Fatalf("answer %q, want %q", got, name+":"+msg)
				}
				return
			}
		}
		t.Fatalf("no answer to %q", msg)
	}
	ask("a")
	ask("b") // same client, same session
	if st := p.Stats().Total(); st.Conns != 1 || st.Active != 1 {
		t.Fatalf("after two datagrams: %d sessions, %d active; want 1 and 1", st.Conns, st.Active)
	}
	if !waitFor(func() bool { return p.Stats().Total().Active == 0 }) {
		t.Fatalf("the session is still active 5s after its last datagram (UDPIdle 500ms)")
	}
	ask("c")
	// A new session; under load a retry may outlive one more idle period,
	// so at least 2, and never more than one open.
	if st := p.Stats().Total(); st.Conns < 2 || st.Active != 1 {
		t.Errorf("after idling out and asking again: %d sessions, %d active; want at least 2 and 1", st.Conns, st.Active)
	}
}

// An upstream that resets the connection, or is not there at all, closes
// the client's side too and counts an error; nothing stays active.
func TestTCPErrorClosesBothSides(t *testing.T) {
	w := newWorld(t, 1, false)
	name := w.names[0]
	ns := w.nss[name]
	rst, err := lab.ListenIn(ns, "tcp", "10.0.0.1:9100")
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	go func() { // read a little, then reset
		for {
			c, err := rst.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 1))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	p := mustNew(t, proxy.Config{
		Name: "errors",
		Routes: []proxy.Route{
			route("rst", "{tenant}/tcp/127.0.0.1:8080", "{tenant}/tcp/10.0.0.1:9100"),
			route("none", "{tenant}/tcp/127.0.0.1:8081", "{tenant}/tcp/10.0.0.1:9199"),
		},
		Tenants: w.names, Rescan: -1,
	})
	for _, port := range []string{"8080", "8081"} {
		c, err := lab.DialIn(ns, "tcp", "127.0.0.1:"+port, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil && !notTimeout(err) {
			t.Errorf("port %s: the client read %v; want EOF or a reset, not a timeout", port, err)
		}
		c.Close()
	}
	if !waitFor(func() bool { return p.Stats().Total().Active == 0 }) {
		t.Errorf("%d connections still active", p.Stats().Total().Active)
	}
	for _, r := range p.Stats().Routes {
		if r.Conns != 1 || r.Errors != 1 {
			t.Errorf("route %s: %d conns, %d errors; want 1 and 1", r.Route, r.Conns, r.Errors)
		}
	}
}

// notTimeout reports whether err is anything but a read timeout.
func notTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return !ok || !ne.Timeout()
}
