package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// controlled is what the control socket drives (a *Proxy).
type controlled interface {
	AddTenant(names ...string) error
	RemoveTenant(names ...string) error
	Tenants() []string
	Resync() error
	Stats() Stats
	Routes() []Route
	AddRoute(Route) error
	RemoveRoute(name string) error
}

// controlHandler serves the control API Client speaks. stop is called once
// for POST /stop, after the answer is sent.
func controlHandler(p controlled, stop func()) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) { reply(w, p.Stats(), nil) })
	mux.HandleFunc("GET /tenants", func(w http.ResponseWriter, r *http.Request) { reply(w, p.Tenants(), nil) })
	mux.HandleFunc("POST /tenants", func(w http.ResponseWriter, r *http.Request) {
		reply(w, "ok", p.AddTenant(r.URL.Query()["name"]...))
	})
	mux.HandleFunc("DELETE /tenants", func(w http.ResponseWriter, r *http.Request) {
		reply(w, "ok", p.RemoveTenant(r.URL.Query()["name"]...))
	})
	mux.HandleFunc("GET /routes", func(w http.ResponseWriter, r *http.Request) { reply(w, p.Routes(), nil) })
	mux.HandleFunc("POST /routes", func(w http.ResponseWriter, r *http.Request) {
		var rt Route
		if err := json.NewDecoder(r.Body).Decode(&rt); err != nil {
			reply(w, nil, fmt.Errorf("route: %w", err))
			return
		}
		reply(w, "ok", p.AddRoute(rt))
	})
	mux.HandleFunc("DELETE /routes", func(w http.ResponseWriter, r *http.Request) {
		var errs []error
		for _, n := range r.URL.Query()["name"] {
			errs = append(errs, p.RemoveRoute(n))
		}
		reply(w, "ok", errors.Join(errs...))
	})
	mux.HandleFunc("POST /resync", func(w http.ResponseWriter, r *http.Request) { reply(w, "ok", p.Resync()) })
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		reply(w, "stopping", nil)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		go stop()
	})
	return mux
}
