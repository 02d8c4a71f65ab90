package proxy_test

import (
	"testing"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// A UDP session lives from its first datagram: its idle clock starts
// then, before the goroutine that relays its answers looks at it. (That
// goroutine used to start first now and then, find no datagram yet, and
// end the session at once: the answer was lost and the client's next
// datagram opened a second session.) 300 clients ask once each: 300
// sessions, every answer back.
func TestEveryUDPSessionLivesFromItsFirstDatagram(t *testing.T) {
	w := newWorld(t, 1, true)
	name := w.names[0]
	p := mustNew(t, proxy.Config{
		Name:    "udp-open",
		Routes:  []proxy.Route{route("dns", "{tenant}/udp/127.0.0.1:8080", "{tenant}/udp/10.0.0.1:9000")},
		Tenants: w.names, UDPIdle: time.Minute, Rescan: -1,
	})
	const clients = 300
	lost := 0
	buf := make([]byte, 256)
	for range clients {
		// Each client keeps its socket (and so its port) to the end: a
		// port used again would be the same client to the proxy.
		c, err := lab.DialIn(w.nss[name], "udp", "127.0.0.1:8080", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != name+":x" {
			lost++
		}
	}
	st := p.Stats().Total()
	if lost > 0 || st.Conns != clients || st.Active != clients {
		t.Errorf("%d clients asked once each: %d answers lost, %d sessions opened, %d active; want 0 lost and %d sessions, all active", clients, lost, st.Conns, st.Active, clients)
	}
}
