package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Client talks to a proxy daemon over its control socket: HTTP over a unix
// socket, with these endpoints:
//
//	GET    /stats               Stats as JSON
//	GET    /metrics             the same, in the Prometheus text format
//	GET    /tenants             the tenants, a JSON list of names
//	POST   /tenants?name=a&name=b=/var/run/netns/b   add tenants (409 if one exists)
//	DELETE /tenants?name=a      remove tenants
//	GET    /routes, POST /routes, DELETE /routes?name=r
//	POST   /resync              rebind tenants whose namespace was recreated
//	POST   /reload              read the config file again (as SIGHUP does)
//	POST   /stop                graceful shutdown
//
// curl --unix-socket PATH http://proxy/stats works too.
type Client struct {
	path string
	hc   *http.Client
	tr   *http.Transport
}

// Dial connects to the control socket at path and checks the daemon
// answers.
func Dial(path string) (*Client, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConns: 2,
	}
	c := &Client{path: path, tr: tr, hc: &http.Client{Transport: tr}} // a deadline per request: see send
	if _, err := c.Tenants(); err != nil {
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("proxy control socket %s: %w", path, err)
	}
	return c, nil
}

// Path is the control socket's path.
func (c *Client) Path() string { return c.path }

// AddTenant binds every per-tenant route inside each named namespace. No
// names is nothing to do (the API refuses an empty request).
func (c *Client) AddTenant(names ...string) error {
	if len(names) == 0 {
		return nil
	}
	return c.do(http.MethodPost, "/tenants", names, nil)
}

// RemoveTenant closes every socket of the named tenants.
func (c *Client) RemoveTenant(names ...string) error {
	if len(names) == 0 {
		return nil
	}
	return c.do(http.MethodDelete, "/tenants", names, nil)
}

// Tenants lists the proxy's tenants.
func (c *Client) Tenants() ([]string, error) {
	var out []string
	err := c.do(http.MethodGet, "/tenants", nil, &out)
	return out, err
}

// Stats returns the proxy's counters, threads and memory.
func (c *Client) Stats() (Stats, error) {
	var s Stats
	err := c.do(http.MethodGet, "/stats", nil, &s)
	return s, err
}

// Routes lists the proxy's routes.
func (c *Client) Routes() ([]Route, error) {
	var out []Route
	err := c.send(http.MethodGet, "/routes", nil, nil, &out)
	return out, err
}

// AddRoute binds a route while the proxy runs (see Proxy.AddRoute).
func (c *Client) AddRoute(r Route) error {
	return c.send(http.MethodPost, "/routes", nil, r, nil)
}

// RemoveRoute closes the named routes' listeners and connections.
func (c *Client) RemoveRoute(names ...string) error {
	if len(names) == 0 {
		return nil
	}
	return c.send(http.MethodDelete, "/routes", names, nil, nil)
}

// Resync rebinds tenants whose namespace was deleted and recreated.
func (c *Client) Resync() error { return c.do(http.MethodPost, "/resync", nil, nil) }

// Reload has the daemon read its config again and apply the difference.
func (c *Client) Reload() error { return c.do(http.MethodPost, "/reload", nil, nil) }

// Metrics returns /metrics, the Prometheus text format.
func (c *Client) Metrics() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://proxy/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s", bytes.TrimSpace(b))
	}
	return string(b), err
}

// Stop asks the daemon to close every socket and exit.
func (c *Client) Stop() error { return c.do(http.MethodPost, "/stop", nil, nil) }

// Close drops the client's idle connections.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

func (c *Client) do(method, path string, names []string, out any) error {
	return c.send(method, path, names, nil, out)
}

// send makes one control request: names as ?name=, body (if not nil) as
// JSON, the answer decoded into out (if not nil).
func (c *Client) send(method, path string, names []string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	q := url.Values{}
	for _, n := range names {
		q.Add("name", n)
	}
	u := "http://proxy" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	// A request that names tenants waits for each to be bound (in
	// process-per-namespace, a worker started for each): on a busy machine
	// that is up to a second or so apiece.
	wait := 30*time.Second + time.Duration(len(names))*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: no answer within %s: the proxy is overloaded or stuck (nslab proxy stats, or its log, says which)", method, path, wait)
		}
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", method, path, bytes.TrimSpace(answer))
	}
	if out != nil {
		return json.Unmarshal(answer, out)
	}
	return nil
}
