//go:build linux

// Command http-tenants serves tenants that all use the same address, each
// in its own network namespace, behind one front door on the host that
// picks the tenant by the request's Host name: shopb.example goes to the
// web server at 10.0.0.1:80 inside shopb, and to no other.
//
//	sudo ip netns add shopa; sudo ip netns add shopb
//	sudo go run ./docs/examples/http-tenants -setup shopa shopb
//	curl -H 'Host: shopb.example' http://127.0.0.1:7480/cart
//
// With -setup it brings lo up in each tenant and gives it the address
// (what `ip -n T link set lo up; ip -n T addr add 10.0.0.1/32 dev lo` do).
// Every socket inside a tenant is made on a short visit of a locked thread;
// the process's threads all stay on the host.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/nslab/nslab/docs/examples/nsdo"
)

var (
	front = flag.String("front", "127.0.0.1:7480", "the front door, on the host")
	addr  = flag.String("addr", "10.0.0.1:80", "every tenant's web server (the same address in each)")
	setup = flag.Bool("setup", false, "bring lo up in each tenant and add the address to it first")
)

func init() {
	// Keep the main goroutine on the main thread, which the runtime never
	// discards: namespace switches run on other threads.
	runtime.LockOSThread()
}

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: http-tenants [flags] TENANT...   (names in /run/netns)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	tenants := map[string]string{} // name -> namespace file
	for _, t := range flag.Args() {
		tenants[t] = filepath.Join("/run/netns", t)
	}
	for name, path := range tenants {
		if *setup {
			if err := addLoopbackAddr(path, *addr); err != nil {
				log.Fatalf("%s: %v", name, err)
			}
		}
		if err := serveInside(path, name, *addr); err != nil {
			log.Fatalf("%s: %v", name, err)
		}
	}
	l, err := net.Listen("tcp", *front)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("front door on %s for %d tenant(s): Host TENANT.example goes to %s inside TENANT\n", l.Addr(), len(tenants), *addr)
	log.Fatal(http.Serve(l, frontDoor(tenants, *addr)))
}

// addLoopbackAddr brings lo up inside the namespace and gives it the IP of
// addr as a /32, through a netlink handle made inside.
func addLoopbackAddr(nsPath, addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return err
	}
	var h *netlink.Handle
	if err := nsdo.Do(nsPath, func() (err error) { h, err = netlink.NewHandle(); return err }); err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := h.LinkSetUp(lo); err != nil {
		return err
	}
	a, _ := netlink.ParseAddr(ap.Addr().String() + "/32")
	if err := h.AddrAdd(lo, a); err != nil && !os.IsExist(err) {
		return fmt.Errorf("addr add %s dev lo: %w", a, err)
	}
	return nil
}

// serveInside starts a web server inside the namespace that answers with
// the tenant's name, the method, the Host and the path.
func serveInside(nsPath, name, addr string) error {
	var l net.Listener
	if err := nsdo.Do(nsPath, func() (err error) { l, err = net.Listen("tcp", addr); return err }); err != nil {
		return err
	}
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s: %s %s %s\n", name, r.Method, r.Host, r.URL.Path)
	}))
	return nil
}

// tenantKey carries the chosen tenant's namespace from the request to the
// dial.
type tenantKey struct{}

// frontDoor is a reverse proxy that picks the tenant by Host and dials
// inside it. A Host that names no tenant gets a 502 from the proxy itself,
// which dials nowhere.
func frontDoor(tenants map[string]string, addr string) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", addr
			r.Out.Host = r.In.Host
		},
		Transport: tenantTransport(),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nsPath, ok := tenantOf(r.Host, tenants)
		if !ok {
			http.Error(w, "502 no tenant is called "+r.Host, http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, nsPath)))
	})
}

// tenantOf maps a Host to a tenant's namespace: shopb.example is shopb's.
func tenantOf(host string, tenants map[string]string) (string, bool) {
	host, _, _ = strings.Cut(host, ":")
	name, ok := strings.CutSuffix(host, ".example")
	if !ok {
		return "", false
	}
	nsPath, ok := tenants[name]
	return nsPath, ok
}

// tenantTransport dials from inside the namespace the request's context
// names: the connection's socket is made there, so 10.0.0.1 is that
// tenant's own address.
func tenantTransport() *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			nsPath, _ := ctx.Value(tenantKey{}).(string)
			var c net.Conn
			err := nsdo.Do(nsPath, func() (err error) {
				c, err = (&net.Dialer{Timeout: 3 * time.Second}).Dial(network, address) // an IP literal: no resolver goroutine
				return err
			})
			return c, err
		},
		DisableKeepAlives: true, // a kept connection belongs to one tenant: never reuse it for another
	}
}
