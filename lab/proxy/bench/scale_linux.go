package bench

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"time"

	"github.com/nslab/nslab/lab"
	"github.com/nslab/nslab/lab/proxy"
)

// ScaleReport is one nslab proxy process serving many tenants: how long
// it took to bind them all, and what it costs once idle.
type ScaleReport struct {
	Schema     int     `json:"schema"` // set by whoever writes it out
	Tenants    int     `json:"tenants"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	CreateMs   float64 `json:"namespaces_ms"` // making the namespaces (lab), for scale
	StartMs    float64 `json:"start_ms"`      // exec until every tenant's listener accepts
	Threads    int     `json:"idle_threads"`
	// ThreadsMin and ThreadsMax are over 21 reads, one every 0.5 s for
	// 10 s after Threads: an idle proxy's count should not move.
	ThreadsMin int     `json:"idle_threads_min"`
	ThreadsMax int     `json:"idle_threads_max"`
	RSSMiB     float64 `json:"idle_rss_mib"`
	PSSMiB     float64 `json:"idle_pss_mib"`
	Sampled    int     `json:"sampled"` // tenants asked through the proxy after start
	Answered   int     `json:"answered"`
}

// Scale starts `nslab proxy` (as an operator runs it) with n tenants, one
// TCP route each, and reads its cost once idle; then asks 200 tenants
// through it. Progress goes to log.
func Scale(ctx context.Context, s *lab.Session, n int, log io.Writer) (ScaleReport, error) {
	r := ScaleReport{Tenants: n, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	env, cleanup, err := newPeerEnv(ctx, s, n, log)
	if err != nil {
		return r, err
	}
	defer cleanup()
	r.CreateMs = env.createMs
	fmt.Fprintf(log, "bench scale: nslab proxy with %d tenants...\n", n)
	ap := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", listenPort))
	pids, stop, start, err := startTimed(env, peer{name: "nslab", port: listenPort, start: startNslab, notifies: true}, n, ap)
	if err != nil {
		return r, err
	}
	defer stop()
	r.StartMs = start
	// Idle is once the daemon has settled: at 10 000 tenants, parking the
	// handles, trimming threads and giving memory back took a few seconds
	// here (1 s after READY=1 it still had 9 threads, 6 s after 7).
	time.Sleep(6 * time.Second)
	f := readProcs(pids)
	r.Threads, r.PSSMiB = f.Threads, float64(f.PSS)/(1<<20)
	if st, err := proxy.ReadProcStats(pids[0], ""); err == nil {
		r.RSSMiB = float64(st.RSS) / (1 << 20)
	}
	r.ThreadsMin, r.ThreadsMax = r.Threads, r.Threads
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		n := readProcs(pids).Threads
		r.ThreadsMin, r.ThreadsMax = min(r.ThreadsMin, n), max(r.ThreadsMax, n)
	}
	buf := make([]byte, 2*len(backendAnswer))
	for i := 0; i < n; i += max(1, n/200) {
		r.Sampled++
		if closedRequest(env.nss[i], ap, buf) == nil {
			r.Answered++
		}
	}
	return r, nil
}

// Print writes the scale figures.
func (r ScaleReport) Print(w io.Writer) {
	fmt.Fprintf(w, "nslab proxy with %d tenants (GOMAXPROCS %d): ready (READY=1, every listener accepting) %.0f ms after exec; idle %d threads (%d-%d over the next 10 s), RSS %.1f MiB, PSS %.1f MiB; %d of %d tenants sampled answered\n",
		r.Tenants, r.GOMAXPROCS, r.StartMs, r.Threads, r.ThreadsMin, r.ThreadsMax, r.RSSMiB, r.PSSMiB, r.Answered, r.Sampled)
	fmt.Fprintf(w, "(making the %d namespaces took %.0f ms)\n", r.Tenants, r.CreateMs)
}
