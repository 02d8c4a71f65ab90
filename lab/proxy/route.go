package proxy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/nslab/nslab/lab"
)

// Tenant is the placeholder for a tenant's namespace in a route template
// (and in an http route's Host or Path pattern).
const Tenant = "{tenant}"

// Endpoint is one end of a route: a socket address inside a namespace,
// written NETNS/PROTO/IP:PORT, e.g. "alpha/tcp/127.0.0.1:8080",
// "host/udp/[::1]:53", "{tenant}/tcp/10.0.0.1:9000" or, with a namespace
// given by path, "/var/run/docker/netns/1a2b3c/tcp/10.0.0.1:80".
type Endpoint struct {
	// Netns is a namespace reference (see lab.ParseNetnsRef: a lab or
	// /run/netns name, a path, pid:N), "host", or Tenant.
	Netns string
	Proto string         // tcp, tcp4, tcp6, udp, udp4, udp6, sctp, sctp4, sctp6
	Addr  netip.AddrPort // an IP literal: no name lookups inside a namespace
}

// ParseEndpoint parses NETNS/PROTO/IP:PORT. NETNS may be a path (it holds
// slashes): the protocol and the address are the last two parts.
func ParseEndpoint(s string) (Endpoint, error) {
	i := strings.LastIndex(s, "/")
	j := -1
	if i > 0 {
		j = strings.LastIndex(s[:i], "/")
	}
	if i < 0 || j < 0 {
		return Endpoint{}, fmt.Errorf("endpoint %q: want NETNS/PROTO/IP:PORT, like alpha/tcp/127.0.0.1:8080 or {tenant}/udp/10.0.0.1:53", s)
	}
	e := Endpoint{Netns: s[:j], Proto: s[j+1 : i]}
	addr := s[i+1:]
	if e.Netns == "" {
		return Endpoint{}, fmt.Errorf("endpoint %q: no namespace: write host, a namespace name or path, or %s", s, Tenant)
	}
	if e.Netns != Tenant && !lab.IsHost(e.Netns) {
		if err := lab.ValidateNetnsRef(e.Netns); err != nil {
			return Endpoint{}, fmt.Errorf("endpoint %q: %w", s, err)
		}
	}
	if protoKind(e.Proto) == "" {
		return Endpoint{}, fmt.Errorf("endpoint %q: unknown protocol %q: use tcp, udp or sctp (optionally tcp4, udp6, ...)", s, e.Proto)
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q: address %q is not IP:PORT (an IP literal; names are not looked up inside namespaces), like 10.0.0.1:80 or [fd00::1]:80", s, addr)
	}
	e.Addr = ap
	return e, nil
}

// String formats the endpoint as ParseEndpoint reads it.
func (e Endpoint) String() string {
	if e.Proto == "" {
		return ""
	}
	return e.Netns + "/" + e.Proto + "/" + e.Addr.String()
}

// MarshalText writes NETNS/PROTO/IP:PORT (for JSON and YAML).
func (e Endpoint) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText reads NETNS/PROTO/IP:PORT.
func (e *Endpoint) UnmarshalText(b []byte) error {
	p, err := ParseEndpoint(string(b))
	if err != nil {
		return err
	}
	*e = p
	return nil
}

// PerTenant reports whether the endpoint's namespace is the Tenant
// placeholder.
func (e Endpoint) PerTenant() bool { return e.Netns == Tenant }

// In returns e with the Tenant placeholder replaced by tenant.
func (e Endpoint) In(tenant string) Endpoint {
	if e.Netns == Tenant {
		e.Netns = tenant
	}
	return e
}

// protoKind is "stream", "packet", or "" for an unknown protocol.
func protoKind(p string) string {
	switch p {
	case "tcp", "tcp4", "tcp6", "sctp", "sctp4", "sctp6":
		return "stream"
	case "udp", "udp4", "udp6":
		return "packet"
	}
	return ""
}

// Mode says what a route does with what it accepts.
type Mode string

const (
	// Forward copies bytes (TCP, SCTP) or datagrams (UDP) to the target.
	Forward Mode = "forward"
	// HTTP reverse-proxies requests to the tenant picked by Host header or
	// path prefix; every tenant's backend may sit at the same address.
	HTTP Mode = "http"
)

// Route is one listen→target rule. With Tenant in Listen or Target it is a
// template, instantiated once per tenant.
type Route struct {
	Name   string   `json:"name"`
	Mode   Mode     `json:"mode,omitempty"` // "" means Forward
	Listen Endpoint `json:"listen"`
	Target Endpoint `json:"target"`
	// Host and Path pick the tenant in HTTP mode, as patterns holding
	// Tenant: Host "{tenant}.lab.test" sends alpha.lab.test to alpha; Path
	// "/{tenant}/" sends /alpha/x to alpha as /x. Give one of them.
	Host string `json:"host,omitempty"`
	Path string `json:"path,omitempty"`
}

// PerTenant reports whether the route is a template bound per tenant (its
// listener is inside each tenant). An HTTP route listens once and picks the
// tenant per request.
func (r Route) PerTenant() bool { return r.Listen.PerTenant() }

// check reports the first problem with r as (field, message).
func (r Route) check() (field string, err error) {
	if r.Listen.Proto == "" {
		return "listen", fmt.Errorf("missing: give NETNS/PROTO/IP:PORT")
	}
	if r.Target.Proto == "" {
		return "target", fmt.Errorf("missing: give NETNS/PROTO/IP:PORT")
	}
	switch r.Mode {
	case "", Forward:
		if protoKind(r.Listen.Proto) != protoKind(r.Target.Proto) {
			return "target", fmt.Errorf("%s cannot carry %s traffic: forward stream to stream (tcp, sctp) and datagrams to datagrams (udp)", r.Target.Proto, r.Listen.Proto)
		}
		if r.Host != "" || r.Path != "" {
			return "host", fmt.Errorf("host and path only apply to mode: http")
		}
		if r.Target.PerTenant() && !r.Listen.PerTenant() {
			return "target", fmt.Errorf("a %s target needs a %s listener (which tenant would a shared listener forward to?), or use mode: http", Tenant, Tenant)
		}
	case HTTP:
		if !strings.HasPrefix(r.Listen.Proto, "tcp") || !strings.HasPrefix(r.Target.Proto, "tcp") {
			return "listen", fmt.Errorf("mode http runs over tcp on both ends")
		}
		if r.Listen.PerTenant() {
			return "listen", fmt.Errorf("an http route listens once, outside the tenants, and picks the tenant per request: use host or a namespace name")
		}
		if (r.Host == "") == (r.Path == "") {
			return "host", fmt.Errorf("mode http needs one of host (like %s.lab.test) or path (like /%s/)", Tenant, Tenant)
		}
		pat, field := r.Host, "host"
		if r.Path != "" {
			pat, field = r.Path, "path"
			if !strings.HasPrefix(pat, "/") {
				return field, fmt.Errorf("%q must start with /", pat)
			}
		}
		if strings.Count(pat, Tenant) != 1 {
			return field, fmt.Errorf("%q must hold %s once, where the tenant's name goes", pat, Tenant)
		}
		if !r.Target.PerTenant() {
			return "target", fmt.Errorf("an http route's target is in each tenant: write %s/tcp/IP:PORT", Tenant)
		}
	default:
		return "mode", fmt.Errorf("unknown mode %q: use forward or http", r.Mode)
	}
	return "", nil
}

// ParseRouteFlag parses LISTEN=TARGET (the `nslab proxy --route` form),
// with an optional ",http,host=PATTERN" or ",http,path=PATTERN" suffix for
// HTTP mode.
func ParseRouteFlag(s string) (Route, error) {
	spec, opts, _ := strings.Cut(s, ",")
	l, t, ok := strings.Cut(spec, "=")
	if !ok {
		return Route{}, fmt.Errorf("want LISTEN=TARGET, like {tenant}/tcp/127.0.0.1:8080={tenant}/tcp/10.0.0.1:9000")
	}
	var r Route
	var err error
	if r.Listen, err = ParseEndpoint(l); err != nil {
		return Route{}, err
	}
	if r.Target, err = ParseEndpoint(t); err != nil {
		return Route{}, err
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "":
		case "http":
			r.Mode = HTTP
		case "host":
			r.Host = v
		case "path":
			r.Path = v
		default:
			return Route{}, fmt.Errorf("unknown option %q: use http, host=PATTERN or path=PATTERN", k)
		}
	}
	if _, err := r.check(); err != nil {
		return Route{}, err
	}
	return r, nil
}
