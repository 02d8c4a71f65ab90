package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/nslab/nslab/lab"
)

// controlled is what the control socket drives (a *Proxy).
type controlled interface {
	AddTenant(names ...string) error
	RemoveTenant(names ...string) error
	Tenants() []string
	Resync() error
	Stats() Stats
	Metrics() Metrics
	Routes() []Route
	AddRoute(Route) error
	RemoveRoute(name string) error
}

// maxControlBody bounds a control request's body: a route is a few hundred
// bytes; nothing legitimate comes near this.
const maxControlBody = 64 << 10

// controlHandler serves the control API Client speaks. stop is called once
// for POST /stop, after the answer is sent.
//
// Every refusal is a 4xx whose body says what was wrong: 400 for a request
// that cannot be understood, 404 for a tenant or route that does not exist,
// 405 (from the mux) for a wrong method, 409 for one that exists already,
// 413 for a body over 64 KiB; any other refusal by the proxy is 400 with
// its reason. A reload that fails is 500 (the proxy keeps what it could
// apply; the body says what failed).
func controlHandler(p controlled, stop func(), reload func() error) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any, err error) {
		if err != nil {
			http.Error(w, err.Error(), controlStatus(err))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	// names reads ?name=: tenants to add are NAME or NAME=NETNS (see
	// ParseTenant), tenants to remove their NAME.
	names := func(r *http.Request, specs bool) ([]string, error) {
		ns := r.URL.Query()["name"]
		if len(ns) == 0 {
			return nil, badRequest("give at least one tenant as ?name=NAME (or ?name=NAME=NETNS to add one whose namespace has another name, a path or pid:N)")
		}
		for _, n := range ns {
			var err error
			if specs {
				_, _, err = ParseTenant(n)
			} else {
				err = lab.ValidateNetnsName(n)
			}
			if err != nil {
				return nil, badRequest(err.Error())
			}
		}
		return ns, nil
	}
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) { reply(w, p.Stats(), nil) })
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { serveMetrics(w, p) })
	mux.HandleFunc("GET /tenants", func(w http.ResponseWriter, r *http.Request) { reply(w, p.Tenants(), nil) })
	mux.HandleFunc("POST /tenants", func(w http.ResponseWriter, r *http.Request) {
		ns, err := names(r, true)
		if err == nil {
			err = p.AddTenant(ns...)
		}
		reply(w, "ok", err)
	})
	mux.HandleFunc("DELETE /tenants", func(w http.ResponseWriter, r *http.Request) {
		ns, err := names(r, false)
		if err == nil {
			err = p.RemoveTenant(ns...)
		}
		reply(w, "ok", err)
	})
	mux.HandleFunc("GET /routes", func(w http.ResponseWriter, r *http.Request) { reply(w, p.Routes(), nil) })
	mux.HandleFunc("POST /routes", func(w http.ResponseWriter, r *http.Request) {
		rt, err := decodeRoute(http.MaxBytesReader(w, r.Body, maxControlBody))
		if err == nil {
			err = p.AddRoute(rt)
		}
		reply(w, "ok", err)
	})
	mux.HandleFunc("DELETE /routes", func(w http.ResponseWriter, r *http.Request) {
		ns := r.URL.Query()["name"]
		if len(ns) == 0 {
			reply(w, nil, badRequest("give at least one route as ?name=NAME"))
			return
		}
		var errs []error
		for _, n := range ns {
			errs = append(errs, p.RemoveRoute(n))
		}
		reply(w, "ok", errors.Join(errs...))
	})
	mux.HandleFunc("POST /resync", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok", p.Resync()) })
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		if reload == nil {
			reply(w, nil, &controlError{http.StatusNotImplemented, "this proxy has no config file to read again"})
			return
		}
		if err := reload(); err != nil {
			reply(w, nil, &controlError{http.StatusInternalServerError, "reload: " + err.Error()})
			return
		}
		reply(w, "ok", nil)
	})
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		reply(w, "stopping", nil)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go stop()
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := controlMethods[r.URL.Path]; ok {
			w.Header().Set("Allow", strings.ReplaceAll(m, "|", ", "))
			http.Error(w, fmt.Sprintf("%s %s: not allowed; use %s %s", r.Method, r.URL.Path, m, r.URL.Path), http.StatusMethodNotAllowed)
			return
		}
		http.Error(w, fmt.Sprintf("no control endpoint %s %s: use GET /stats, GET /metrics, GET|POST|DELETE /tenants, GET|POST|DELETE /routes, POST /resync, POST /reload or POST /stop", r.Method, r.URL.Path), http.StatusNotFound)
	})
	return mux
}

// controlMethods lists each endpoint's methods, for the 405 message.
var controlMethods = map[string]string{
	"/stats": "GET", "/metrics": "GET", "/tenants": "GET|POST|DELETE", "/routes": "GET|POST|DELETE",
	"/resync": "POST", "/reload": "POST", "/stop": "POST",
}

// serveMetrics answers GET /metrics in the Prometheus text format.
func serveMetrics(w http.ResponseWriter, p interface{ Metrics() Metrics }) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	WriteMetrics(w, p.Metrics())
}

// metricsHandler serves only GET /metrics: what a TCP address for
// Prometheus gets (the control API stays on the private socket).
func metricsHandler(p interface{ Metrics() Metrics }) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { serveMetrics(w, p) })
	return mux
}

// decodeRoute reads one route as JSON, strictly: unknown fields, trailing
// data and a missing listen or target are errors, not silently dropped.
func decodeRoute(r io.Reader) (Route, error) {
	var rt Route
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rt); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Route{}, &controlError{http.StatusRequestEntityTooLarge, fmt.Sprintf("route: the body is over %d bytes", tooBig.Limit)}
		}
		return Route{}, badRequest("route: " + strings.TrimPrefix(err.Error(), "json: ") +
			`: send one JSON object like {"name":"web","listen":"{tenant}/tcp/127.0.0.1:8080","target":"{tenant}/tcp/10.0.0.1:9000"}`)
	}
	if dec.More() {
		return Route{}, badRequest("route: more than one JSON value in the body: send one route per request")
	}
	if rt.Listen.Proto == "" || rt.Target.Proto == "" {
		return Route{}, badRequest("route: listen and target are both required (NETNS/PROTO/IP:PORT)")
	}
	return rt, nil
}

// controlError is a refusal with its HTTP status.
type controlError struct {
	status int
	msg    string
}

func (e *controlError) Error() string { return e.msg }

func badRequest(msg string) error { return &controlError{http.StatusBadRequest, msg} }

// controlStatus maps an error to the status the control API answers with.
func controlStatus(err error) int {
	var ce *controlError
	switch {
	case errors.As(err, &ce):
		return ce.status
	case errors.Is(err, lab.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, lab.ErrExists):
		return http.StatusConflict
	}
	return http.StatusBadRequest
}
