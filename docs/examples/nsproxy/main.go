//go:build linux

// Command nsproxy listens on the same address in many network namespaces
// from one process and forwards every connection to one service on the
// host: the multi-tenant proxy of "Operate Linux Network Namespace with
// Go" and of "The Namespace Binding Challenge", with the thread strategies
// they compare.
//
//	sudo go run ./docs/examples/nsproxy -to 127.0.0.1:7400 t1 t2 t3
//
// A tenant is a name in /run/netns (as ip netns add makes) or a namespace
// file such as /proc/PID/ns/net. The strategies:
//
//	shared                lock a thread, setns in, bind, setns back, unlock;
//	                      the netpoller then serves every listener from a
//	                      handful of threads, however many tenants there are
//	thread-per-namespace  a goroutine per tenant locks its thread, enters, and
//	                      never leaves: one OS thread per tenant
//	blocking-accept       shared binding, but each listener is a blocking fd
//	                      with its own accept(2) loop: a thread per listener
//
// It prints how many threads it has once every listener is bound, and then
// serves until interrupted.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

var (
	strategy = flag.String("strategy", "shared", "shared, thread-per-namespace or blocking-accept")
	listen   = flag.String("listen", "127.0.0.1:80", "the address to listen on in every tenant (an IP literal)")
	to       = flag.String("to", "", "forward to this address on the host (default: answer with an echo)")
	raw      = flag.Bool("raw", false, "shared strategy, but each listener made by hand: a non-blocking socket(2) wrapped with os.NewFile (the road SCTP takes)")
	proto    = flag.String("proto", "tcp", "tcp, or sctp with -raw (where the kernel has SCTP)")
)

func init() {
	// Keep the main goroutine on the main thread, which the runtime never
	// discards: namespace switches run on other threads.
	runtime.LockOSThread()
}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: nsproxy [flags] TENANT...   (a name in /run/netns, or a namespace file)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var tenants []string
	for _, t := range flag.Args() {
		if !strings.Contains(t, "/") {
			t = filepath.Join("/run/netns", t)
		}
		tenants = append(tenants, t)
	}
	var err error
	switch *strategy {
	case "shared":
		err = bindShared(tenants)
	case "thread-per-namespace":
		err = bindThreadPerNamespace(tenants)
	case "blocking-accept":
		err = bindBlockingAccept(tenants)
	default:
		err = fmt.Errorf("-strategy %q: want shared, thread-per-namespace or blocking-accept", *strategy)
	}
	if err != nil {
		log.Fatal(err)
	}
	// Blocking accepts take their threads as their goroutines reach
	// accept(2): give them a moment before counting.
	time.Sleep(200 * time.Millisecond)
	fmt.Printf("%s: %d listener(s) on %s, one in each tenant; %d thread(s)\n", *strategy, len(tenants), *listen, threads())
	select {}
}

// handle serves one accepted connection. It runs on any thread: the
// connection's socket belongs to the tenant's namespace whatever thread
// reads it, and the dial to the host service is made from a thread that
// is home.
func handle(c net.Conn) {
	defer c.Close()
	if *to == "" {
		b, _ := io.ReadAll(io.LimitReader(c, 4096))
		c.Write(append([]byte("echo: "), b...))
		return
	}
	up, err := net.DialTimeout("tcp", *to, 3*time.Second)
	if err != nil {
		log.Printf("dial %s: %v", *to, err)
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	<-done
}

// serve accepts until the listener is closed.
func serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go handle(c)
	}
}

// threads reads this process's thread count from /proc/self/status.
func threads() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return -1
}
