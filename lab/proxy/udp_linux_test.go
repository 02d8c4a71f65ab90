package proxy_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/nslab/nslab/lab/proxy"
)

// An idle UDP listener waits in the netpoller holding no read buffer: 100
// tenants' UDP listeners add well under the 6.4 MiB that 64 KiB each would,
// and each still answers.
func TestIdleUDPListenersHoldNoBuffer(t *testing.T) {
	w := newWorld(t, 100, false)
	for _, name := range w.names[:2] {
		startBackends(t, w.nss[name], name)
	}
	runtime.GC()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	mustNew(t, proxy.Config{
		Name:    "udp-idle",
		Routes:  []proxy.Route{route("dns", "{tenant}/udp/127.0.0.1:8080", "{tenant}/udp/10.0.0.1:9000")},
		Tenants: w.names, Rescan: -1,
	})
	time.Sleep(100 * time.Millisecond) // every listener parked in its read
	runtime.GC()
	runtime.ReadMemStats(&b)
	grew := int64(b.HeapAlloc) - int64(a.HeapAlloc)
	t.Logf("heap grew %.2f MiB for 100 UDP listeners", float64(grew)/(1<<20))
	if grew > 2<<20 {
		t.Errorf("heap grew %.1f MiB for 100 idle UDP listeners, want < 2 MiB (64 KiB each would be 6.4)", float64(grew)/(1<<20))
	}
	for _, name := range w.names[:2] {
		for i := range 3 {
			msg := string(rune('a' + i))
			if got := askUDP(t, w.nss[name], "127.0.0.1:8080", msg); got != name+":"+msg {
				t.Errorf("udp in %s answered %q, want %q", name, got, name+":"+msg)
			}
		}
	}
}
