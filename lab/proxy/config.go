package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config describes a proxy: its routes, its tenants and how it spends
// threads. The zero value of every optional field is a sane default.
type Config struct {
	Name     string   `json:"name"`
	Strategy Strategy `json:"strategy,omitempty"` // "" means Shared
	Routes   []Route  `json:"routes"`
	Tenants  []string `json:"tenants,omitempty"` // bound at start; more with AddTenant

	// Control is the daemon's control socket (HTTP over a unix socket).
	Control string `json:"control,omitempty"`
	// UDPIdle closes a UDP client session after this long without traffic
	// (default 30s).
	UDPIdle time.Duration `json:"udp_idle,omitempty"`
	// DialTimeout bounds each upstream connect (default 5s).
	DialTimeout time.Duration `json:"dial_timeout,omitempty"`
	// FinTimeout bounds a TCP connection after one side has finished
	// sending: the other side gets this long to finish too (default 1m).
	// Without it, a backend that hangs after the client hung up would hold
	// the connection (two fds and a goroutine) forever.
	FinTimeout time.Duration `json:"fin_timeout,omitempty"`
	// Rescan is how often what inotify cannot see (pid: references,
	// /proc paths) is checked for having been deleted or recreated; named
	// namespaces are followed by inotify on their directories (default
	// 2s; negative: neither, only when Resync is called).
	Rescan time.Duration `json:"rescan,omitempty"`
	// MaxConns bounds the TCP connections served at once (default: what
	// the fd limit allows, two sockets and some pipe each). Past it, new
	// clients wait in the kernel's accept queue, not failed.
	MaxConns int `json:"max_conns,omitempty"`
	// Limits are what each tenant may take (see Limits).
	Limits Limits `json:"limits,omitempty"`
	// State is a file the tenants added over the API are kept in, so that
	// a restart binds them again ("": they live as long as the process).
	State string `json:"state,omitempty"`
	// Metrics is a TCP address (IP:PORT) to serve /metrics on, besides
	// the control socket ("": the control socket only).
	Metrics string `json:"metrics,omitempty"`
	// TrimThreads has the daemon give back the OS threads a burst left
	// parked, once quiet (see lab.TrimThreads). Off by default: it is a
	// program's policy, which nslab proxy and the lab's workers choose.
	TrimThreads bool `json:"trim_threads,omitempty"`
	// ScaleProcs has the daemon run Go on as many CPUs at once as the
	// traffic keeps busy: one while one is enough, up to every CPU the
	// process may use (see procScale). Off by default, like TrimThreads;
	// GOMAXPROCS in the environment turns it off.
	ScaleProcs bool `json:"scale_procs,omitempty"`

	Logger *slog.Logger `json:"-"` // default: discard
}

// ConfigError is a problem in a config file: where, which field, what.
type ConfigError struct {
	File      string
	Line, Col int
	Field     string // routes[1].listen
	Msg       string
}

func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Col)
	}
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
}

// withDefaults fills in the defaults.
func (c Config) withDefaults() Config {
	if c.Strategy == "" {
		c.Strategy = Shared
	}
	if c.UDPIdle == 0 {
		c.UDPIdle = 30 * time.Second
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.FinTimeout == 0 {
		c.FinTimeout = time.Minute
	}
	if c.Rescan == 0 {
		c.Rescan = 2 * time.Second
	}
	if c.Name == "" {
		c.Name = "proxy"
	}
	for i := range c.Routes {
		if c.Routes[i].Name == "" {
			c.Routes[i].Name = fmt.Sprintf("route%d", i+1)
		}
		if c.Routes[i].Mode == "" {
			c.Routes[i].Mode = Forward
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first problem in c, naming the field.
func (c Config) Validate() error {
	if _, err := ParseStrategy(string(c.Strategy)); err != nil {
		return &ConfigError{File: "config", Field: "strategy", Msg: err.Error()}
	}
	if len(c.Routes) == 0 {
		return &ConfigError{File: "config", Field: "routes", Msg: "no routes: give at least one {listen, target}"}
	}
	seen := map[string]bool{}
	for i, r := range c.Routes {
		if f, err := r.check(); err != nil {
			return &ConfigError{File: "config", Field: fmt.Sprintf("routes[%d].%s", i, f), Msg: err.Error()}
		}
		if r.Name != "" {
			if seen[r.Name] {
				return &ConfigError{File: "config", Field: fmt.Sprintf("routes[%d].name", i), Msg: fmt.Sprintf("%q is used twice: route names must be unique", r.Name)}
			}
			seen[r.Name] = true
		}
	}
	for i, t := range c.Tenants {
		if _, _, err := ParseTenant(t); err != nil {
			return &ConfigError{File: "config", Field: fmt.Sprintf("tenants[%d]", i), Msg: err.Error()}
		}
	}
	if f, msg := c.Limits.validate(); f != "" {
		return &ConfigError{File: "config", Field: "limits." + f, Msg: msg}
	}
	if c.Metrics != "" {
		if err := checkMetricsAddr(c.Metrics); err != nil {
			return &ConfigError{File: "config", Field: "metrics", Msg: err.Error()}
		}
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"udp_idle", c.UDPIdle}, {"dial_timeout", c.DialTimeout}, {"fin_timeout", c.FinTimeout}} {
		if d.v < 0 {
			return &ConfigError{File: "config", Field: d.field, Msg: "durations must not be negative"}
		}
	}
	if c.MaxConns < 0 {
		return &ConfigError{File: "config", Field: "max_conns", Msg: "must not be negative (0: what the fd limit allows)"}
	}
	return nil
}

// LoadConfig reads a YAML config file. Every error names the file, line
// and column, and the field:
//
//	name: edge
//	strategy: shared            # thread-per-namespace, process-per-namespace, blocking-accept
//	control: /run/nslab/edge.sock
//	tenants: [alpha, beta]
//	udp_idle: 30s
//	routes:
//	  - name: web
//	    listen: "{tenant}/tcp/127.0.0.1:8080"
//	    target: "{tenant}/tcp/10.0.0.1:9000"
//	  - name: front
//	    mode: http
//	    listen: host/tcp/127.0.0.1:8000
//	    target: "{tenant}/tcp/10.0.0.1:80"
//	    host: "{tenant}.lab.test"
func LoadConfig(path string) (Config, error) { return LoadConfigOver(path, Config{}) }

// LoadConfigOver is LoadConfig starting from base: what the file does not
// set stays as base has it (a program's own defaults: nslab proxy trims
// threads and scales its Ps unless the file says trim_threads: false or
// scale_procs: false).
func LoadConfigOver(path string, base Config) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read proxy config: %w", err)
	}
	return parseConfig(path, b, base)
}

// ParseConfig parses a YAML config; file names it in errors.
func ParseConfig(file string, data []byte) (Config, error) {
	return parseConfig(file, data, Config{})
}

func parseConfig(file string, data []byte, c Config) (Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, yamlSyntaxError(file, err)
	}
	p := parser{file: file}
	if len(doc.Content) == 0 {
		return c, &ConfigError{File: file, Msg: "empty config: give at least routes"}
	}
	root := doc.Content[0]
	p.mapping(root, "", map[string]func(*yaml.Node, string){
		"name":     func(n *yaml.Node, f string) { c.Name = p.str(n, f) },
		"strategy": func(n *yaml.Node, f string) { c.Strategy = p.strategy(n, f) },
		"control":  func(n *yaml.Node, f string) { c.Control = p.str(n, f) },
		"udp_idle": func(n *yaml.Node, f string) { c.UDPIdle = p.duration(n, f) },
		"dial_timeout": func(n *yaml.Node, f string) {
			c.DialTimeout = p.duration(n, f)
		},
		"fin_timeout": func(n *yaml.Node, f string) {
			c.FinTimeout = p.duration(n, f)
		},
		"rescan":       func(n *yaml.Node, f string) { c.Rescan = p.duration(n, f) },
		"max_conns":    func(n *yaml.Node, f string) { c.MaxConns = p.count(n, f) },
		"state":        func(n *yaml.Node, f string) { c.State = p.str(n, f) },
		"metrics":      func(n *yaml.Node, f string) { c.Metrics = p.metricsAddr(n, f) },
		"trim_threads": func(n *yaml.Node, f string) { c.TrimThreads = p.boolean(n, f) },
		"scale_procs":  func(n *yaml.Node, f string) { c.ScaleProcs = p.boolean(n, f) },
		"limits":       func(n *yaml.Node, f string) { c.Limits = p.limits(n, f) },
		"tenants": func(n *yaml.Node, f string) {
			p.seq(n, f, func(i int, e *yaml.Node, f string) {
				t := p.str(e, f)
				if _, _, err := ParseTenant(t); err != nil && p.err == nil {
					p.fail(e, f, err.Error())
				}
				c.Tenants = append(c.Tenants, t)
			})
		},
		"routes": func(n *yaml.Node, f string) {
			p.seq(n, f, func(i int, e *yaml.Node, f string) {
				c.Routes = append(c.Routes, p.route(e, f))
			})
		},
	})
	if p.err != nil {
		return Config{}, p.err
	}
	if len(c.Routes) == 0 {
		return Config{}, &ConfigError{File: file, Line: root.Line, Col: root.Column, Field: "routes", Msg: "no routes: give at least one {listen, target}"}
	}
	names := map[string]bool{}
	for i, r := range c.Routes {
		if r.Name != "" && names[r.Name] {
			return Config{}, &ConfigError{File: file, Line: p.routeNodes[i].Line, Col: p.routeNodes[i].Column, Field: fmt.Sprintf("routes[%d].name", i), Msg: fmt.Sprintf("%q is used twice: route names must be unique", r.Name)}
		}
		names[r.Name] = true
	}
	return c, nil
}

// parser walks the YAML tree, keeping the first error with its position.
type parser struct {
	file       string
	err        *ConfigError
	routeNodes []*yaml.Node
}

func (p *parser) fail(n *yaml.Node, field, msg string) {
	if p.err == nil {
		p.err = &ConfigError{File: p.file, Line: n.Line, Col: n.Column, Field: field, Msg: msg}
	}
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (p *parser) mapping(n *yaml.Node, field string, fields map[string]func(*yaml.Node, string)) {
	if n.Kind != yaml.MappingNode {
		what := "the config"
		if field != "" {
			what = field
		}
		p.fail(n, field, fmt.Sprintf("%s must be a mapping of key: value", what))
		return
	}
	for i := 0; i+1 < len(n.Content) && p.err == nil; i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fn, ok := fields[k.Value]
		if !ok {
			known := slices.Sorted(maps.Keys(fields))
			p.fail(k, join(field, k.Value), "unknown field; known fields here: "+strings.Join(known, ", "))
			return
		}
		fn(v, join(field, k.Value))
	}
}

func (p *parser) seq(n *yaml.Node, field string, each func(int, *yaml.Node, string)) {
	if n.Kind != yaml.SequenceNode {
		p.fail(n, field, "must be a list")
		return
	}
	for i, e := range n.Content {
		if p.err != nil {
			return
		}
		each(i, e, fmt.Sprintf("%s[%d]", field, i))
	}
}

func (p *parser) str(n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode {
		p.fail(n, field, "must be a string")
		return ""
	}
	return n.Value
}

func (p *parser) duration(n *yaml.Node, field string) time.Duration {
	s := p.str(n, field)
	if p.err != nil {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail(n, field, fmt.Sprintf("%q is not a duration: write it like 30s, 500ms or 2m", s))
	}
	if d < 0 {
		p.fail(n, field, "must not be negative")
	}
	return d
}

func (p *parser) count(n *yaml.Node, field string) int {
	s := p.str(n, field)
	if p.err != nil {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		p.fail(n, field, fmt.Sprintf("%q is not a count: write a whole number, 0 or more", s))
	}
	return v
}

func (p *parser) boolean(n *yaml.Node, field string) bool {
	switch s := p.str(n, field); s {
	case "true", "yes", "on":
		return true
	case "false", "no", "off":
		return false
	default:
		if p.err == nil {
			p.fail(n, field, fmt.Sprintf("%q is not true or false", s))
		}
	}
	return false
}

func (p *parser) number(n *yaml.Node, field string) float64 {
	s := p.str(n, field)
	if p.err != nil {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		p.fail(n, field, fmt.Sprintf("%q is not a number, 0 or more", s))
	}
	return v
}

func (p *parser) metricsAddr(n *yaml.Node, field string) string {
	s := p.str(n, field)
	if p.err == nil {
		if err := checkMetricsAddr(s); err != nil {
			p.fail(n, field, err.Error())
		}
	}
	return s
}

func (p *parser) limits(n *yaml.Node, field string) Limits {
	var l Limits
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"max_conns":      func(v *yaml.Node, f string) { l.MaxConns = p.count(v, f) },
		"accept_rate":    func(v *yaml.Node, f string) { l.AcceptRate = p.number(v, f) },
		"accept_burst":   func(v *yaml.Node, f string) { l.AcceptBurst = p.count(v, f) },
		"idle_timeout":   func(v *yaml.Node, f string) { l.IdleTimeout = p.duration(v, f) },
		"header_timeout": func(v *yaml.Node, f string) { l.HeaderTimeout = p.duration(v, f) },
	})
	return l
}

// checkMetricsAddr checks a metrics address: an IP literal and a port.
func checkMetricsAddr(s string) error {
	if _, err := netip.ParseAddrPort(s); err != nil {
		return fmt.Errorf("%q is not IP:PORT: write it like 127.0.0.1:9108 (an IP literal; [::]:9108 for every address)", s)
	}
	return nil
}

func (p *parser) strategy(n *yaml.Node, field string) Strategy {
	s, err := ParseStrategy(p.str(n, field))
	if err != nil && p.err == nil {
		p.fail(n, field, err.Error())
	}
	return s
}

func (p *parser) endpoint(n *yaml.Node, field string) Endpoint {
	s := p.str(n, field)
	if p.err != nil {
		return Endpoint{}
	}
	e, err := ParseEndpoint(s)
	if err != nil {
		p.fail(n, field, err.Error())
	}
	return e
}

func (p *parser) route(n *yaml.Node, field string) Route {
	p.routeNodes = append(p.routeNodes, n)
	var r Route
	nodes := map[string]*yaml.Node{}
	keep := func(name string, set func(*yaml.Node, string)) func(*yaml.Node, string) {
		return func(v *yaml.Node, f string) { nodes[name] = v; set(v, f) }
	}
	p.mapping(n, field, map[string]func(*yaml.Node, string){
		"name":   keep("name", func(v *yaml.Node, f string) { r.Name = p.str(v, f) }),
		"mode":   keep("mode", func(v *yaml.Node, f string) { r.Mode = Mode(p.str(v, f)) }),
		"listen": keep("listen", func(v *yaml.Node, f string) { r.Listen = p.endpoint(v, f) }),
		"target": keep("target", func(v *yaml.Node, f string) { r.Target = p.endpoint(v, f) }),
		"host":   keep("host", func(v *yaml.Node, f string) { r.Host = p.str(v, f) }),
		"path":   keep("path", func(v *yaml.Node, f string) { r.Path = p.str(v, f) }),
	})
	if p.err != nil {
		return r
	}
	if f, err := r.check(); err != nil {
		at := nodes[f]
		if at == nil {
			at = n
		}
		p.fail(at, join(field, f), err.Error())
	}
	return r
}

// yamlSyntaxError turns yaml.v3's "yaml: line 3: ..." into file:line.
func yamlSyntaxError(file string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ":"); i > 0 {
			fmt.Sscanf(rest[:i], "%d", &line)
			msg = strings.TrimSpace(rest[i+1:])
		}
	}
	return &ConfigError{File: file, Line: line, Col: 1, Msg: "YAML syntax: " + msg}
}
