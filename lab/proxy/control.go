package proxy

import (
	"encoding/json"
	"net/http"
)

// controlled is what the control socket drives (a *Proxy).
type controlled interface {
	AddTenant(names ...string) error
	RemoveTenant(names ...string) error
	Tenants() []string
	Resync() error
	Stats() Stats
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
