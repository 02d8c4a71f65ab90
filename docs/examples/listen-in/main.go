//go:build linux

// Command listen-in listens inside another network namespace while every
// one of its threads stays in the namespace it started in: a network
// namespace matters only when a socket is created, and a socket keeps the
// namespace it was born in for life. It is the proof of concept of
// "Operate Linux Network Namespace with Go" (a reverse proxy for tenants
// with conflicting address spaces), written with vishvananda/netns.
//
//	sudo ip netns add demo && sudo ip -n demo link set lo up
//	sudo go run ./docs/examples/listen-in /run/netns/demo 127.0.0.1:8080
//	sudo ip netns exec demo ss -ltnp    # the listener, owned by this process
//	ss -ltnp                            # not there: the host has its own stack
//
// NSPATH is a file of a network namespace: /run/netns/NAME, or
// /proc/PID/ns/net of any process (a container's, say). It answers every
// connection with "echo: " and what it reads; with -http, every HTTP
// request with the namespace it was accepted in. -knock connects from
// inside the namespace once, prints the answer, and exits.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/nslab/nslab/docs/examples/nsdo"
)

var (
	asHTTP = flag.Bool("http", false, "serve HTTP instead of an echo")
	knock  = flag.Bool("knock", false, "after listening, connect from inside the namespace, print the answer and exit")
)

func init() {
	// Keep the main goroutine on the main thread, which the runtime never
	// discards: the switches below run on other threads.
	runtime.LockOSThread()
}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: listen-in [-http] [-knock] NSPATH ADDR   (NSPATH: /run/netns/NAME or /proc/PID/ns/net)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	nsPath, addr := flag.Arg(0), flag.Arg(1)
	l, err := listenIn(nsPath, "tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s inside %s; %s\n", l.Addr(), nsPath, threadReport())
	if *asHTTP {
		go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from inside %s: %s %s\n", nsPath, r.Method, r.URL.Path)
		}))
	} else {
		go serveEcho(l)
	}
	if !*knock {
		select {} // served by the netpoller, from whichever thread is free
	}
	answer, err := knockFromInside(nsPath, addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("knocked from inside %s: %s\n", nsPath, answer)
	home, err := listenHome(addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("the same address on the host's own stack: %s, no conflict\n", home.Addr())
	home.Close()
	if err := closeInside(l, nsPath, addr); err != nil {
		log.Fatal(err)
	}
}

// listenIn creates a listening socket inside the namespace at nsPath. The
// goroutine is locked to its thread for the whole visit: setns(2) moves
// a thread, not a goroutine, and an unlocked goroutine may wake up on
// another thread between the switch and the socket.
func listenIn(nsPath, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := nsdo.Do(nsPath, func() (err error) {
		l, err = net.Listen(network, addr) // an IP literal: no resolver goroutine starts in here
		return err
	})
	return l, err
}

// knockFromInside connects to addr from inside the namespace: the
// connection's socket is made there, so 127.0.0.1 is the namespace's own
// loopback, where the listener is.
func knockFromInside(nsPath, addr string) (string, error) {
	var c net.Conn
	err := nsdo.Do(nsPath, func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 3*time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if *asHTTP {
		fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
	} else {
		c.Write([]byte("knock"))
		c.(*net.TCPConn).CloseWrite()
	}
	b, err := io.ReadAll(c)
	return strings.TrimSpace(string(b)), err
}

// listenHome listens on addr in the namespace the process started in: a
// plain net.Listen, on any thread, since every thread is home.
func listenHome(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// closeInside closes the listener and shows that the namespace no longer
// has it: a connection from inside is refused.
func closeInside(l net.Listener, nsPath, addr string) error {
	if err := l.Close(); err != nil {
		return err
	}
	_, err := knockFromInside(nsPath, addr)
	if err == nil {
		return fmt.Errorf("something still listens on %s inside %s", addr, nsPath)
	}
	fmt.Printf("closed; from inside %s: %v\n", nsPath, err)
	return nil
}

// serveEcho answers each connection with "echo: " and what it reads.
func serveEcho(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			b, _ := io.ReadAll(io.LimitReader(c, 4096))
			c.Write(append([]byte("echo: "), b...))
		}()
	}
}

// threadReport says which network namespaces this process's threads are
// in: /proc/self/task/TID/ns/net, one link per thread.
func threadReport() string {
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	count := map[string]int{}
	for _, t := range tasks {
		ns, _ := os.Readlink(t)
		count[ns]++
	}
	var parts []string
	for ns, n := range count {
		parts = append(parts, fmt.Sprintf("%d in %s", n, ns))
	}
	sort.Strings(parts)
	return fmt.Sprintf("threads: %s", strings.Join(parts, ", "))
}
