package proxy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseConfigReadsAFullFile(t *testing.T) {
	src := `name: edge
strategy: thread-per-namespace
control: /run/nslab/edge.sock
udp_idle: 45s
max_conns: 4000
tenants: [alpha, beta]
routes:
  - name: web
    listen: "{tenant}/tcp/127.0.0.1:8080"
    target: "{tenant}/tcp/10.0.0.1:9000"
  - name: front
    mode: http
    listen: host/tcp/127.0.0.1:8000
    target: "{tenant}/tcp/10.0.0.1:80"
    host: "{tenant}.lab.test"
`
	c, err := ParseConfig("edge.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "edge" || c.Strategy != ThreadPerNamespace || c.UDPIdle != 45*time.Second || c.MaxConns != 4000 || len(c.Tenants) != 2 || len(c.Routes) != 2 {
		t.Fatalf("parsed %+v", c)
	}
	if r := c.Routes[1]; r.Mode != HTTP || r.Host != "{tenant}.lab.test" || r.Target.String() != "{tenant}/tcp/10.0.0.1:80" {
		t.Errorf("front route = %+v", r)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseConfigErrorsNameFileLineAndField(t *testing.T) {
	route := "routes:\n  - listen: \"{tenant}/tcp/127.0.0.1:8080\"\n    target: \"{tenant}/tcp/10.0.0.1:9000\"\n"
	tests := []struct {
		name, src, want string
	}{
		{"an unknown top-level field", "nmae: x\n" + route, "p.yaml:1:1: nmae: unknown field"},
		{"an unknown strategy", "strategy: fast\n" + route, "p.yaml:1:11: strategy: unknown strategy \"fast\""},
		{"a malformed endpoint", "routes:\n  - listen: alpha/tcp/localhost:80\n    target: alpha/tcp/10.0.0.1:80\n", "p.yaml:2:13: routes[0].listen: endpoint"},
		{"an unknown protocol", "routes:\n  - listen: alpha/tcpx/127.0.0.1:80\n    target: alpha/tcp/10.0.0.1:80\n", "routes[0].listen: endpoint \"alpha/tcpx/127.0.0.1:80\": unknown protocol"},
		{"tcp forwarded to udp", "routes:\n  - listen: alpha/tcp/127.0.0.1:80\n    target: alpha/udp/10.0.0.1:80\n", "p.yaml:3:13: routes[0].target: udp cannot carry tcp"},
		{"http without host or path", "routes:\n  - mode: http\n    listen: host/tcp/127.0.0.1:80\n    target: \"{tenant}/tcp/10.0.0.1:80\"\n", "p.yaml:2:5: routes[0].host: mode http needs one of host"},
		{"a bad duration", "udp_idle: soon\n" + route, "p.yaml:1:11: udp_idle: \"soon\" is not a duration"},
		{"a negative max_conns", "max_conns: -5\n" + route, "p.yaml:1:12: max_conns: \"-5\" is not a count"},
		{"a bad tenant name", "tenants: [\"a b\"]\n" + route, "p.yaml:1:11: tenants[0]"},
		{"routes that is not a list", "routes: 3\n", "p.yaml:1:9: routes: must be a list"},
		{"no routes", "name: x\n", "routes: no routes"},
		{"a duplicate route name", "routes:\n  - name: a\n    listen: alpha/tcp/127.0.0.1:80\n    target: alpha/tcp/10.0.0.1:80\n  - name: a\n    listen: alpha/tcp/127.0.0.1:81\n    target: alpha/tcp/10.0.0.1:80\n", "p.yaml:5:5: routes[1].name: \"a\" is used twice"},
		{"broken YAML", "routes: [\n", "p.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is reported where it is", func(t *testing.T) {
			_, err := ParseConfig("p.yaml", []byte(tt.src))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestEndpointsRoundTrip(t *testing.T) {
	for _, s := range []string{"alpha/tcp/127.0.0.1:8080", "{tenant}/udp6/[fd00::1]:53", "host/sctp/0.0.0.0:9"} {
		e, err := ParseEndpoint(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if e.String() != s {
			t.Errorf("%s came back as %s", s, e)
		}
	}
	r, err := ParseRouteFlag("host/tcp/127.0.0.1:8000={tenant}/tcp/10.0.0.1:80,http,path=/{tenant}/")
	if err != nil || r.Mode != HTTP || r.Path != "/{tenant}/" {
		t.Errorf("ParseRouteFlag = %+v, %v", r, err)
	}
}
