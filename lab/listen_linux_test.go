package lab_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/internal/labtest"
	"github.com/nslab/nslab/lab"
)

// sockNetns returns the inode of the network namespace a socket lives in,
// read from the socket itself with SIOCGSKNS.
func sockNetns(t testing.TB, x any) uint64 {
	t.Helper()
	sc, ok := x.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no SyscallConn", x)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ino uint64
	var ierr error
	rc.Control(func(fd uintptr) { ino, ierr = labtest.SocketNetns(int(fd)) })
	if ierr != nil {
		t.Fatalf("SIOCGSKNS: %v", ierr)
	}
	return ino
}

// loNetns makes a namespace with lo up and returns it.
func loNetns(t testing.TB, s *lab.Session, base string) *lab.Netns {
	t.Helper()
	return labtest.Netns(t, s, labtest.Name(base), true)
}

func assertThreadsHome(t testing.TB) {
	t.Helper()
	host := labtest.SelfNetns(t)
	for tid, ino := range labtest.ThreadNetns() {
		if ino != host {
			t.Errorf("thread %d is in net:[%d], want the start namespace net:[%d]", tid, ino, host)
		}
	}
}

func TestBindInMakesEverySocketInsideTheNamespace(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "bind")
	socks := []lab.Socket{
		{Network: "tcp", Addr: "127.0.0.1:0"},
		{Network: "udp", Addr: "127.0.0.1:0"},
		{Network: "tcp6", Addr: "[::1]:0"},
		{Network: "udp6", Addr: "[::1]:0"},
	}
	if err := lab.BindIn(ns, socks); err != nil {
		t.Fatal(err)
	}
	for _, sk := range socks {
		var got uint64
		if sk.Stream() {
			got = sockNetns(t, sk.Listener)
		} else {
			got = sockNetns(t, sk.Packet)
		}
		if got != ns.Inode() {
			t.Errorf("%s %s lives in net:[%d], want net:[%d]", sk.Network, sk.Addr, got, ns.Inode())
		}
		sk.Close()
	}
	assertThreadsHome(t)
}

func TestBindInIsAllOrNothing(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "bind")
	// 10.9.9.9 is on no interface in ns: the second bind fails and the
	// first listener must be closed again.
	socks := []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:0"}, {Network: "tcp", Addr: "10.9.9.9:80"}}
	err := lab.BindIn(ns, socks)
	if err == nil || !strings.Contains(err.Error(), "10.9.9.9:80") {
		t.Fatalf("BindIn = %v, want an error naming 10.9.9.9:80", err)
	}
	if socks[0].Listener != nil {
		t.Errorf("the listener made before the failure was kept")
	}
	if _, err := lab.ListenIn(ns, "tcp", "localhost:80"); !errors.Is(err, lab.ErrInvalid) {
		t.Errorf("ListenIn with a host name = %v, want ErrInvalid", err)
	}
}

func TestRawFDListenerServesTCPThroughTheNetpoller(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "raw")
	l, err := lab.ListenRawIn(ns, "tcp", unix.SOCK_STREAM, unix.IPPROTO_TCP, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if got := sockNetns(t, l); got != ns.Inode() {
		t.Fatalf("raw listener in net:[%d], want net:[%d]", got, ns.Inode())
	}
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		if got := sockNetns(t, c); got != ns.Inode() {
			t.Errorf("accepted conn in net:[%d], want net:[%d]", got, ns.Inode())
		}
		// Echo until the client half-closes, then half-close back.
		_, err = io.Copy(c, c)
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		done <- err
	}()
	c, err := lab.DialIn(ns, "tcp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := []byte("through the raw fd")
	c.Write(msg)
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo = %q, %v; want %q", got, err, msg)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A hundred listeners, each with a goroutine waiting in Accept: the
	// netpoller holds them, not a hundred threads.
	// The threads are counted after the listeners exist, because making
	// them switches namespaces on short-lived locked threads the runtime
	// may keep idle. A blocking Accept would add one thread per listener;
	// the margin leaves room for the scheduler, never for a hundred.
	var ls []net.Listener
	for range 100 {
		l, err := lab.ListenRawIn(ns, "tcp", unix.SOCK_STREAM, unix.IPPROTO_TCP, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	before := threads(t)
	var wg sync.WaitGroup
	closed := make(chan error, 100)
	for _, l := range ls {
		wg.Go(func() {
			_, err := l.Accept()
			closed <- err
		})
	}
	time.Sleep(100 * time.Millisecond) // let every Accept park
	if after, limit := threads(t), before+runtime.GOMAXPROCS(0)+4; after > limit {
		t.Errorf("threads went from %d to %d (limit %d) with 100 raw listeners waiting in Accept", before, after, limit)
	}
	for _, l := range ls {
		l.Close()
	}
	wg.Wait()
	close(closed)
	for err := range closed {
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
		}
	}
	l.Close()
}

// threads counts this process's OS threads.
func threads(t testing.TB) int { return len(labtest.ThreadNetns()) }

func TestSCTPSaysWhatTheKernelLacks(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "sctp")
	l, err := lab.ListenIn(ns, "sctp", "127.0.0.1:0")
	if lab.SCTPSupported() != nil {
		if !errors.Is(err, lab.ErrUnsupported) || !strings.Contains(err.Error(), "no SCTP") {
			t.Fatalf("ListenIn sctp without kernel SCTP = %v, want ErrUnsupported saying so", err)
		}
		if _, err := lab.DialIn(ns, "sctp", "127.0.0.1:9", time.Second); !errors.Is(err, lab.ErrUnsupported) {
			t.Errorf("DialIn sctp without kernel SCTP = %v, want ErrUnsupported", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := sockNetns(t, l); got != ns.Inode() {
		t.Fatalf("sctp listener in net:[%d], want net:[%d]", got, ns.Inode())
	}
	go func() {
		if c, err := l.Accept(); err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	c, err := lab.DialIn(ns, "sctp", l.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("sctp"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "sctp" {
		t.Fatalf("sctp echo = %q, %v", buf, err)
	}
}

func TestDialerConnectsFromInsideTheNamespace(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "dial")
	l := labtest.Listen(t, ns, "tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "inside")
	})}
	go srv.Serve(l)
	defer srv.Close()

	d := &lab.Dialer{Netns: ns, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if got := sockNetns(t, c); got != ns.Inode() {
		t.Errorf("dialed socket in net:[%d], want net:[%d]", got, ns.Inode())
	}
	if _, ok := c.(*net.TCPConn); !ok {
		t.Errorf("Dial returned %T, want *net.TCPConn (so io.Copy can splice)", c)
	}
	c.Close()

	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "inside" {
		t.Errorf("GET through the namespace dialer = %q", body)
	}
	// The same address from the host namespace reaches nothing.
	if c, err := (&lab.Dialer{Timeout: time.Second}).Dial("tcp", l.Addr().String()); err == nil {
		c.Close()
		t.Errorf("%s answered from the host namespace too", l.Addr())
	}
	if _, err := d.Dial("tcp", "localhost:80"); !errors.Is(err, lab.ErrInvalid) {
		t.Errorf("Dial with a host name = %v, want ErrInvalid", err)
	}
	assertThreadsHome(t)
}

func TestListenersShowInSSInsideTheNamespace(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "ss")
	l := labtest.Listen(t, ns, "tcp", "127.0.0.1:0")
	if out := labtest.IP(t, "netns", "exec", lab.SysName(ns.Name()), "ss", "-Hltn"); !strings.Contains(out, l.Addr().String()) {
		t.Errorf("ss -ltn inside %s does not list %s:\n%s", ns.Name(), l.Addr(), out)
	}
	if host := labtest.Cmd(t, "ss", "-Hltn"); strings.Contains(host, l.Addr().String()) {
		t.Errorf("ss -ltn in the host lists %s too", l.Addr())
	}
}

func TestBindEachVisitsEveryNamespaceOnOneThread(t *testing.T) {
	s := labtest.New(t)
	var binds []lab.Bind
	for i := range 4 {
		ns := loNetns(t, s, "each")
		addr := "127.0.0.1:0"
		if i == 2 {
			addr = "10.9.9.9:80" // on no interface there: this one fails alone
		}
		binds = append(binds, lab.Bind{Netns: ns, Socks: []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:0"}, {Network: "udp", Addr: addr}}})
	}
	if err := lab.BindEach(binds); err != nil {
		t.Fatal(err)
	}
	for i, b := range binds {
		if i == 2 {
			if b.Err == nil || !strings.Contains(b.Err.Error(), "10.9.9.9:80") || b.Socks[0].Listener != nil {
				t.Errorf("namespace 2: Err %v, listener %v; want the error and nothing kept", b.Err, b.Socks[0].Listener)
			}
			continue
		}
		if b.Err != nil {
			t.Fatalf("namespace %d: %v", i, b.Err)
		}
		if got := sockNetns(t, b.Socks[0].Listener); got != b.Netns.Inode() {
			t.Errorf("namespace %d: tcp in net:[%d], want net:[%d]", i, got, b.Netns.Inode())
		}
		if got := sockNetns(t, b.Socks[1].Packet); got != b.Netns.Inode() {
			t.Errorf("namespace %d: udp in net:[%d], want net:[%d]", i, got, b.Netns.Inode())
		}
		b.Socks[0].Close()
		b.Socks[1].Close()
	}
	assertThreadsHome(t)
}

// A nil Netns in BindEach is the caller's namespace even right after an
// entry that took the thread elsewhere.
func TestBindEachNilIsTheCallersNamespace(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "nil")
	binds := []lab.Bind{
		{Netns: ns, Socks: []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:0"}}},
		{Netns: nil, Socks: []lab.Socket{{Network: "tcp", Addr: "127.0.0.1:0"}}},
	}
	if err := lab.BindEach(binds); err != nil {
		t.Fatal(err)
	}
	here := labtest.SelfNetns(t)
	for i, want := range []uint64{ns.Inode(), here} {
		if binds[i].Err != nil {
			t.Fatalf("bind %d: %v", i, binds[i].Err)
		}
		if got := sockNetns(t, binds[i].Socks[0].Listener); got != want {
			t.Errorf("bind %d: socket in net:[%d], want net:[%d]", i, got, want)
		}
		binds[i].Socks[0].Close()
	}
	assertThreadsHome(t)
}

// fdNetns is sockNetns for a bare descriptor.
func fdNetns(t testing.TB, fd int) uint64 {
	t.Helper()
	ino, err := labtest.SocketNetns(fd)
	if err != nil {
		t.Fatalf("SIOCGSKNS on fd %d: %v", fd, err)
	}
	return ino
}

// Raw sockets are made in the namespace like any other, by hand and left
// out of the netpoller (FD set, no Listener or Packet); an address the raw
// path does not take (no IP literal) falls back to the net package. They
// behave as net.Listen's would: a TCP one accepts, a UDP one is not bound
// twice (no SO_REUSEADDR), "tcp" on [::] is dual-stack and "tcp6" is not,
// and Close closes the descriptor.
func TestRawSocketsAreMadeInsideAndBehaveAsListenWould(t *testing.T) {
	s := labtest.New(t)
	ns := loNetns(t, s, "raw")
	socks := []lab.Socket{
		{Network: "tcp", Addr: "127.0.0.1:0", Raw: true},
		{Network: "udp", Addr: "127.0.0.1:7001", Raw: true},
		{Network: "tcp", Addr: "[::]:7002", Raw: true},
		{Network: "tcp6", Addr: "[::]:7003", Raw: true},
		{Network: "tcp", Addr: ":7004", Raw: true}, // no literal: net.Listen's way
	}
	if err := lab.BindIn(ns, socks); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for i := range socks {
			socks[i].Close()
		}
	}()
	for _, sk := range socks[:4] {
		if sk.FD() < 0 || sk.Listener != nil || sk.Packet != nil {
			t.Fatalf("%s %s: FD %d, Listener %v, Packet %v: want a raw socket only", sk.Network, sk.Addr, sk.FD(), sk.Listener, sk.Packet)
		}
		if got := fdNetns(t, sk.FD()); got != ns.Inode() {
			t.Errorf("%s %s lives in net:[%d], want net:[%d]", sk.Network, sk.Addr, got, ns.Inode())
		}
		if fl, _ := unix.FcntlInt(uintptr(sk.FD()), unix.F_GETFL, 0); fl&unix.O_NONBLOCK == 0 {
			t.Errorf("%s %s is blocking", sk.Network, sk.Addr)
		}
	}
	if sk := socks[4]; sk.FD() != -1 || sk.Listener == nil {
		t.Errorf(":7004 raw: FD %d, Listener %v: want net.Listen's listener", sk.FD(), sk.Listener)
	}
	sa, err := unix.Getsockname(socks[0].FD())
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*unix.SockaddrInet4).Port
	dial := func(network, addr string) error {
		c, err := lab.DialIn(ns, network, addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
		t.Errorf("connect to the raw TCP listener: %v", err)
	}
	nfd, _, err := unix.Accept4(socks[0].FD(), unix.SOCK_CLOEXEC)
	if err != nil {
		t.Errorf("accept4 on the raw listener: %v", err)
	} else {
		unix.Close(nfd)
	}
	if err := dial("tcp", "127.0.0.1:7002"); err != nil {
		t.Errorf(`"tcp" on [::] should be dual-stack: %v`, err)
	}
	if err := dial("tcp", "127.0.0.1:7003"); err == nil {
		t.Errorf(`"tcp6" on [::] accepted IPv4`)
	}
	again := []lab.Socket{{Network: "udp", Addr: "127.0.0.1:7001", Raw: true}}
	if err := lab.BindIn(ns, again); !errors.Is(err, syscall.EADDRINUSE) {
		again[0].Close()
		t.Errorf("a second raw UDP bind of 127.0.0.1:7001: %v, want address in use", err)
	}
	fd := socks[1].FD()
	socks[1].Close()
	if socks[1].FD() != -1 {
		t.Errorf("FD after Close = %d, want -1", socks[1].FD())
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("fd %d still open after Close: %v", fd, err)
	}
	assertThreadsHome(t)
}
