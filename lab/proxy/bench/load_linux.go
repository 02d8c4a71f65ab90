package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lab"
)

// The load generator: clients in the tenants' namespaces, each socket made
// inside its tenant (lab.DoInline) and read and written through the Go
// netpoller, all in this process. Every peer meets the same clients.

var (
	reqKeepAlive = []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
	reqClose     = []byte("GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
)

// clientConn connects to ap from inside ns.
func clientConn(ns *lab.Netns, ap netip.AddrPort) (*os.File, error) {
	d := lab.Dialer{Netns: ns, KeepAlive: -1, Inline: true}
	fd, done, err := d.StartConnect("tcp", ap)
	if err != nil {
		return nil, err
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	f := os.NewFile(uintptr(fd), "client") // non-blocking: in the netpoller
	if done {
		return f, nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	f.SetWriteDeadline(time.Now().Add(5 * time.Second))
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && v != 0 {
			err = unix.Errno(v)
		}
		if err != nil {
			serr = err
			return true
		}
		_, perr := unix.Getpeername(int(fd))
		return perr == nil
	})
	f.SetWriteDeadline(time.Time{})
	if werr == nil {
		werr = serr
	}
	if werr != nil {
		f.Close()
		return nil, werr
	}
	return f, nil
}

// rateResult is a rate measurement: what completed, what failed, and the
// latency of each completed request.
type rateResult struct {
	Done, Failed int
	Elapsed      time.Duration
	lat          []time.Duration
}

func (r rateResult) rate() float64 { return float64(r.Done) / r.Elapsed.Seconds() }

func (r *rateResult) merge(o rateResult) {
	r.Done += o.Done
	r.Failed += o.Failed
	r.lat = append(r.lat, o.lat...)
}

func (r *rateResult) percentiles() (p50, p99 float64) {
	slices.Sort(r.lat)
	return percentile(r.lat, 0.50), percentile(r.lat, 0.99)
}

var errBadAnswer = errors.New("not the backend's answer")

// closedRequest connects, asks once with Connection: close, reads the
// answer to its end and closes: one new connection.
func closedRequest(ns *lab.Netns, ap netip.AddrPort, buf []byte) error {
	f, err := clientConn(ns, ap)
	if err != nil {
		return err
	}
	defer f.Close()
	f.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := f.Write(reqClose); err != nil {
		return err
	}
	n := 0
	for {
		m, err := f.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n == len(buf) {
			return errBadAnswer
		}
	}
	if !bytes.Equal(buf[:n], backendAnswer) {
		return errBadAnswer
	}
	return nil
}

// closedOne makes one closedRequest and counts it.
func (r *rateResult) closedOne(ns *lab.Netns, ap netip.AddrPort, buf []byte) {
	t0 := time.Now()
	if err := closedRequest(ns, ap, buf); err != nil {
		r.Failed++
		return
	}
	r.Done++
	r.lat = append(r.lat, time.Since(t0))
}

// newConnRate runs clients that each open a connection, ask once and
// close, again and again, for d; connection i goes to tenant i mod len.
func newConnRate(nss []*lab.Netns, ap netip.AddrPort, clients int, d time.Duration) rateResult {
	var next atomic.Int64
	stop := time.Now().Add(d)
	return runClients(clients, func(res *rateResult) {
		buf := make([]byte, 2*len(backendAnswer))
		for time.Now().Before(stop) {
			res.closedOne(nss[int(next.Add(1))%len(nss)], ap, buf)
		}
	})
}

// keepAliveRate runs clients that each keep one connection (to tenant
// client mod len) and ask on it again and again, for d.
func keepAliveRate(nss []*lab.Netns, ap netip.AddrPort, clients int, d time.Duration) rateResult {
	var id atomic.Int64
	stop := time.Now().Add(d)
	return runClients(clients, func(res *rateResult) {
		i := int(id.Add(1))
		f, err := clientConn(nss[i%len(nss)], ap)
		if err != nil {
			res.Failed++
			return
		}
		defer f.Close()
		buf := make([]byte, len(backendAnswer))
		for time.Now().Before(stop) {
			t0 := time.Now()
			f.SetDeadline(t0.Add(10 * time.Second))
			if _, err := f.Write(reqKeepAlive); err != nil {
				res.Failed++
				return
			}
			if _, err := io.ReadFull(f, buf); err != nil || !bytes.Equal(buf, backendAnswer) {
				res.Failed++
				return
			}
			res.Done++
			res.lat = append(res.lat, time.Since(t0))
		}
	})
}

// fixedRate opens rate new connections a second for d (as far as workers
// can keep up), each asking once: for the CPU a peer spends per
// connection at a load it carries easily, and the latency there.
func fixedRate(nss []*lab.Netns, ap netip.AddrPort, rate int, d time.Duration) rateResult {
	ticks := make(chan struct{}, rate)
	go func() {
		defer close(ticks)
		every := time.Second / time.Duration(rate)
		start := time.Now()
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * every)
			if at.Sub(start) >= d {
				return
			}
			time.Sleep(time.Until(at))
			select {
			case ticks <- struct{}{}:
			default: // the workers are behind: this one is not made
			}
		}
	}()
	var next atomic.Int64
	return runClients(max(8, rate/100), func(res *rateResult) {
		buf := make([]byte, 2*len(backendAnswer))
		for range ticks {
			res.closedOne(nss[int(next.Add(1))%len(nss)], ap, buf)
		}
	})
}

// runClients runs n clients and merges what they measured.
func runClients(n int, client func(*rateResult)) rateResult {
	t0 := time.Now()
	results := make([]rateResult, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); client(&results[i]) }()
	}
	wg.Wait()
	var all rateResult
	for _, r := range results {
		all.merge(r)
	}
	all.Elapsed = time.Since(t0)
	return all
}

// throughput sends total bytes over streams connections at once (stream
// i to tenant i mod len), to the backend's sink, and returns Gbit/s.
func throughput(nss []*lab.Netns, ap netip.AddrPort, streams int, total int64) (float64, error) {
	each := total / int64(streams)
	errs := make([]error, streams)
	var ready, wg sync.WaitGroup
	start := make(chan struct{})
	conns := make([]*os.File, streams)
	for i := range streams {
		f, err := clientConn(nss[i%len(nss)], ap)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return 0, err
		}
		conns[i] = f
	}
	for i, f := range conns {
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer f.Close()
			buf := make([]byte, 256<<10)
			buf[0] = 's'
			ready.Done()
			<-start
			for sent := int64(0); sent < each; {
				m, err := f.Write(buf[:min(int64(len(buf)), each-sent)])
				if err != nil {
					errs[i] = err
					return
				}
				sent += int64(m)
			}
			// Half-close and wait for the far end to close: everything
			// was received, not only sent.
			if rc, err := f.SyscallConn(); err == nil {
				rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_WR) })
			}
			io.Copy(io.Discard, f)
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	wg.Wait()
	el := time.Since(t0)
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("%d streams: %w", streams, err)
	}
	return float64(each*int64(streams)) * 8 / 1e9 / el.Seconds(), nil
}
