package proxy

import (
	"fmt"
	"time"
)

// Limits bound what each tenant may take, so that one tenant (a customer,
// not a friend) cannot use up what the others need. Every tenant gets the
// same limits; zero means no limit.
type Limits struct {
	// MaxConns is how many connections a tenant may have open at once on
	// the TCP routes (on http routes: requests in flight). Past it, the
	// tenant's new clients wait in its own listeners' accept queues (http:
	// get 503), and the other tenants are not affected.
	MaxConns int `json:"max_conns,omitempty"`
	// AcceptRate is how many new connections a second a tenant may open
	// (http: requests a second), with bursts of up to AcceptBurst (default:
	// a tenth of a second's worth, at least 1). Past it, new clients wait
	// in the accept queue (http: get 429).
	AcceptRate  float64 `json:"accept_rate,omitempty"`
	AcceptBurst int     `json:"accept_burst,omitempty"`
	// IdleTimeout closes a TCP connection when nothing has moved either
	// way for this long; on http routes it is the keep-alive idle time.
	IdleTimeout time.Duration `json:"idle_timeout,omitempty"`
	// HeaderTimeout bounds how long an http client may take to send a
	// request's headers (default 30s): a client trickling them holds a
	// connection and a goroutine.
	HeaderTimeout time.Duration `json:"header_timeout,omitempty"`
}

// validate reports the first problem as (field, message).
func (l Limits) validate() (string, string) {
	switch {
	case l.MaxConns < 0:
		return "max_conns", "must not be negative (0: no limit)"
	case l.AcceptRate < 0:
		return "accept_rate", "must not be negative (0: no limit)"
	case l.AcceptBurst < 0:
		return "accept_burst", "must not be negative"
	case l.IdleTimeout < 0:
		return "idle_timeout", "durations must not be negative"
	case l.HeaderTimeout < 0:
		return "header_timeout", "durations must not be negative"
	}
	return "", ""
}

func (l Limits) burst() float64 {
	if l.AcceptBurst > 0 {
		return float64(l.AcceptBurst)
	}
	return max(1, l.AcceptRate/10)
}

// limitKind names a limit that turned a client away (for a moment), as
// metrics and stats count them.
type limitKind int

const (
	limitMaxConns    limitKind = iota // the proxy's max_conns
	limitTenantConns                  // limits.max_conns
	limitRate                         // limits.accept_rate
	limitIdle                         // limits.idle_timeout closed a connection
	limitHeader                       // limits.header_timeout ended an http request
	nLimits
)

var limitNames = [nLimits]string{"max_conns", "tenant_max_conns", "accept_rate", "idle_timeout", "header_timeout"}

func (k limitKind) String() string {
	if k < 0 || k >= nLimits {
		return fmt.Sprintf("limit(%d)", int(k))
	}
	return limitNames[k]
}
