package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nslab/nslab/lab"
)

// Run is the proxy daemon: it starts a proxy from cfg, serves its control
// socket at cfg.Control (and /metrics at cfg.Metrics), and runs until ctx
// is done or a client asks it to stop; then it closes every socket and
// returns. Nothing is left bound when it returns, whatever the reason.
func Run(ctx context.Context, cfg Config) error {
	return Daemon{Load: func() (Config, error) { return cfg, nil }}.Run(ctx)
}

// Daemon is the proxy daemon as a service manager runs it.
type Daemon struct {
	// Load reads the configuration: once to start, and again for each
	// reload (SIGHUP, which systemctl reload sends, or POST /reload).
	Load func() (Config, error)
	// Notify tells systemd the daemon's state over $NOTIFY_SOCKET
	// (Type=notify): READY=1 once every tenant is bound and the control
	// socket answers, RELOADING=1 and READY=1 around a reload,
	// STOPPING=1 on the way out.
	Notify bool
}

// Run is Run with reloads.
func (d Daemon) Run(ctx context.Context) error {
	cfg, err := d.Load()
	if err != nil {
		return err
	}
	return runDaemon(ctx, workerSpec{Config: cfg}, nil, d)
}

// workerSpec is what a daemon child gets: the config, and for a
// process-per-namespace child, the tenant it was started in and the path of
// its parent's namespace (its "host").
type workerSpec struct {
	Config   Config `json:"config"`
	Here     string `json:"here,omitempty"`
	HostPath string `json:"host_path,omitempty"`
	// ChildDir is where a process-per-namespace worker puts its
	// children's control sockets: a directory its session made and
	// removes, even after a SIGKILL ("": one of its own, beside its
	// control socket; see startChild).
	ChildDir string `json:"child_dir,omitempty"`
	Log      string `json:"log,omitempty"` // "json" or "text"
	Level    string `json:"level,omitempty"`
}

func runDaemon(ctx context.Context, spec workerSpec, ready func(error), d Daemon) (err error) {
	if ready == nil {
		ready = func(error) {}
	}
	defer func() {
		if err != nil {
			ready(err)
		}
	}()
	say := func(state string) {
		if d.Notify {
			if err := notify(state); err != nil {
				spec.Config.Logger.Warn("notify", "err", err)
			}
		}
	}
	cfg := spec.Config
	if cfg.Control == "" {
		return fmt.Errorf("the daemon needs a control socket path (control: in the config, or --control)")
	}
	ctl, err := listenControl(cfg.Control)
	if err != nil {
		return err
	}
	defer os.Remove(cfg.Control)
	defer ctl.Close()
	var mln net.Listener
	if cfg.Metrics != "" {
		if mln, err = net.Listen("tcp", cfg.Metrics); err != nil {
			return fmt.Errorf("metrics address: %w", err)
		}
		defer mln.Close()
	}
	p, err := newProxy(cfg, spec)
	if err != nil {
		return err
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	kick, poke := make(chan struct{}, 1), make(chan struct{}, 1)
	reload := func() error {
		if d.Load == nil {
			return fmt.Errorf("this daemon has no config to read again: %w", lab.ErrUnsupported)
		}
		say(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d\nSTATUS=reloading", monotonicUsec()))
		next, err := d.Load()
		if err == nil {
			err = p.Reload(next)
		}
		if err != nil {
			p.log.Error("reload", "err", err)
			say("READY=1\nSTATUS=reload failed: " + oneLine(err))
		} else {
			say("READY=1\nSTATUS=" + p.status())
		}
		select {
		case kick <- struct{}{}:
		default:
		}
		return err
	}
	h := controlHandler(p, func() { once.Do(cancel) }, reload)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method == http.MethodGet {
			// Its goroutines may have made threads: tidy again, but a
			// client polling stats must not keep the daemon from going
			// quiet (a poke does not restart the quiet wait).
			select {
			case poke <- struct{}{}:
			default:
			}
			return
		}
		select { // tenants or routes changed: a bind or close storm
		case kick <- struct{}{}:
		default:
		}
	})}
	go srv.Serve(ctl)
	var msrv *http.Server
	if mln != nil {
		msrv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: metricsHandler(p)}
		go msrv.Serve(mln)
	}
	go tidy(ctx, kick, poke, p)
	hup := make(chan os.Signal, 1)
	if d.Load != nil {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	ready(nil)
	say(fmt.Sprintf("READY=1\nMAINPID=%d\nSTATUS=%s", os.Getpid(), p.status()))
	p.log.Info("control socket ready", "path", cfg.Control)
	for {
		select {
		case <-hup:
			reload()
			continue
		case <-ctx.Done():
		}
		break
	}
	say("STOPPING=1")
	p.log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	srv.Shutdown(sctx)
	if msrv != nil {
		msrv.Shutdown(sctx)
	}
	scancel()
	return nil
}

// status is one line for systemctl status.
func (p *Proxy) status() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("serving %d tenants, %d listeners", len(p.tenants), len(p.keys))
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// listenControl listens on a unix socket, replacing a stale socket file
// (one nobody answers on) but never a live daemon's. The socket is mode
// 0600 from the moment it has its name: it is bound in a fresh 0700
// directory, chmodded there, and renamed into place, so neither the umask
// nor a client racing the chmod ever sees a wider one.
func listenControl(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another proxy is running there: %w", path, lab.ErrExists)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() != os.ModeSocket {
		return nil, fmt.Errorf("control socket %s: a %s is there, not a socket; give another path", path, fi.Mode().Type())
	}
	private, err := os.MkdirTemp(dir, ".nslab-control-")
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	defer os.RemoveAll(private)
	tmp := filepath.Join(private, "s")
	l, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false) // the daemon removes path itself
	if err := os.Chmod(tmp, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return l, nil
}

// How the daemon gives back what bursts leave behind: once neither a
// change (a control request that is not a GET: a kick) nor traffic has
// moved for tidyQuiet (doing it under load would be undone at once). After
// a trim it reads the thread count again every tidyLook, tidyRecount times.
const (
	tidyRecount    = 3 // looks after a trim that read the thread count
	tidyLook       = time.Second
	tidyShortTries = 7 // trims that stopped short, retried further apart each time
	tidyQuiet      = 100 * time.Millisecond
)

// tidy runs until ctx ends. Each time the daemon goes quiet it closes the
// idle splice pipes (Proxy.Tidy), gives back the threads the runtime keeps
// parked after a burst, down to GOMAXPROCS+4, if the config asks
// (trim_threads; see lab.TrimThreads); the first time, the pages of the
// binary that start-up touched (lab.DropStartupPages); and
// after tenants or routes changed, the memory: binding 1000 tenants leaves
// a few MiB of garbage that no later GC collects while the daemon idles
// (nothing allocates), so it would stay resident. A GC and a scavenge then
// (debug.FreeOSMemory) cost ~2 ms with 1000 tenants.
func tidy(ctx context.Context, kick, poke <-chan struct{}, p *Proxy) {
	changed := true // the tenants of the config were just bound
	started := false
	short := 0 // trims in a row that stopped above the floor, with no work between
	var scale *procScale
	if p.cfg.ScaleProcs {
		if scale = newProcScale(); scale != nil {
			defer scale.apply(scale.max) // the process as it was, for a library's caller
		}
	}
	quiet := time.NewTimer(tidyQuiet)
	defer quiet.Stop()
	for {
		// Wait until nothing has happened for tidyQuiet.
		quiet.Reset(tidyQuiet)
		for a := p.activity(); ; {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				changed = true
				quiet.Reset(tidyQuiet)
				continue
			case <-poke: // a stats request: no reason to wait longer
				continue
			case <-quiet.C:
				if scale != nil {
					scale.look(time.Now(), processCPU(), p.batches())
				}
			}
			// What stirred it so far is what it waited out; a connection
			// that stirs it after this (its count taken before it
			// stirs) is seen below or by waitForWork.
			select {
			case <-p.stirred:
			default:
			}
			if now := p.activity(); now != a {
				a = now
				quiet.Reset(tidyQuiet)
				continue
			}
			break
		}
		p.Tidy()
		if changed {
			debug.FreeOSMemory()
			changed = false
		}
		if !started {
			// Start-up (the command line, the config, binding every
			// tenant) touched code the proxy will not run again: its
			// pages go, and what it does run comes back.
			lab.DropStartupPages()
			started = true
		}
		if scale != nil {
			scale.quiet() // every CPU again, before the trim reads GOMAXPROCS
		}
		// Down to the threads an idle Go process needs here (the main
		// thread, sysmon, the runtime's template thread, os/signal's, and
		// one per P), not fewer: a thread ended below that is made again
		// at the next wake-up, and the churn left a thread too many half
		// the time (6-8 read where 6 is the floor).
		keep := runtime.GOMAXPROCS(0) + 4
		recount, every := 0, tidyLook // looks that read the count again, and how far apart
		if p.cfg.TrimThreads {
			before, after := trimThreads(keep)
			if scale != nil { // the trim gave the runtime its default back, which follows the CPU limit
				scale.max = runtime.GOMAXPROCS(0)
				scale.cur = scale.max
			}
			if after < before {
				p.log.Debug("gave idle threads back", "before", before, "after", after)
			}
			recount = tidyRecount
			if after > keep {
				// Stopped short: look until it is done (a try may find no
				// idle thread to hand the P to, and a later one does), but
				// further apart each time, and not for ever where the floor
				// is out of reach (a thread that will not go), which would
				// trim every second: 1, 2, 4 ... 64 s, 2 minutes in all.
				if short++; short <= tidyShortTries {
					recount, every = math.MaxInt, tidyLook<<(short-1)
				} else {
					recount = 0
				}
			} else {
				short = 0
			}
		}
		// Then wait for a change, a stats request, or a new connection;
		// or, after a trim, for the next look. Nothing else wakes an idle
		// daemon: no ticker runs while it waits (one that did woke the
		// process every second, and with it the runtime's monitor).
		w := waitForWork(ctx, kick, poke, p, keep, recount, every)
		switch w {
		case wokeDone:
			return
		case wokeKick:
			changed = true
		}
		if w != wokeLook {
			short = 0
		}
	}
}

// What ended a waitForWork.
const (
	wokeDone = iota // ctx ended
	wokeKick        // tenants or routes changed
	wokeWork        // a stats request or a new connection
	wokeLook        // a look found threads above the floor
)

// waitForWork waits, after a tidy, until there is something to tidy after:
// a change of tenants or routes (kick: it reports kicked), a stats request
// (poke), or traffic (a connection opened since the daemon went quiet:
// Proxy.stirred). The thread count is read again for a few looks after a
// trim (what ran just then, a stats request, may have made a thread), or
// until a trim that stopped short is done; not for ever: reading it is
// system calls, and those wake the idle runtime. It says what woke it.
func waitForWork(ctx context.Context, kick, poke <-chan struct{}, p *Proxy, keep, recount int, every time.Duration) int {
	var look <-chan time.Time
	if recount > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		look = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return wokeDone
		case <-kick:
			return wokeKick
		case <-poke:
			return wokeWork
		case <-p.stirred:
			return wokeWork
		case <-look:
			recount--
			if lab.Threads() > keep {
				return wokeLook
			}
			// Done looking: the looks after a trim are over, or a trim
			// that stopped short is done after all (a thread ended on its
			// own); looking on would wake the idle process for nothing.
			if recount == 0 || recount > tidyRecount {
				look = nil
			}
		}
	}
}

func init() { lab.RegisterInit("proxy-worker", workerMain) }

// workerMain is a re-executed daemon child: a StartWorker worker, or a
// process-per-namespace child started inside its tenant's namespace. It
// reads its spec (JSON) from fd 4 and reports readiness on fd 3; a per-namespace child also exits when its
// parent does (its stdin, a pipe from the parent, reaches EOF).
func workerMain() {
	// A test binary locks its main goroutine to the main thread
	// (labtest); a worker would pay a parked thread for it. The namespace
	// switch keeps off the main thread by itself (lab.GoLocked), so the
	// worker gives it back to the runtime.
	runtime.UnlockOSThread()
	var spec workerSpec
	specF := os.NewFile(4, "spec") // written by StartWorker or startChild
	b, err := io.ReadAll(specF)
	specF.Close()
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nslab proxy worker: bad spec on fd 4 (started other than by nslab?):", err)
		os.Exit(2)
	}
	spec.Config.Logger = newLogger(os.Stderr, spec.Log, spec.Level).With("worker", os.Getpid())
	readyF := os.NewFile(3, "ready")
	ready := func(err error) {
		if readyF == nil {
			return
		}
		if err != nil {
			fmt.Fprintf(readyF, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintln(readyF, "ready")
		}
		readyF.Close()
		readyF = nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if spec.Here != "" {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	// Serve from an ordinary goroutine: where the main goroutine is
	// locked to the main thread (a test binary), every wait on it would
	// hand work between threads and leave extra idle threads behind.
	errc := make(chan error, 1)
	go func() { errc <- runDaemon(ctx, spec, ready, Daemon{}) }()
	if err := <-errc; err != nil {
		spec.Config.Logger.Error("proxy worker failed", "err", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// trimProcs is held while a trim runs on one P, so that the stats, which
// report GOMAXPROCS, read the daemon's choice and not that moment's.
var trimProcs sync.Mutex

// trimThreads is the daemon's thread policy (trim_threads): it gives back
// the idle threads a burst left (lab.TrimThreads), with one P while it
// does. With a second P idle, the goroutine that ends a thread may wake
// another thread to take over the P, and the count stops falling sooner
// (7 threads left instead of 5 or 6 here, after binding 100 tenants).
// GOMAXPROCS is process-wide: changing it is the daemon's choice, made
// only while quiet, and undone at once.
func trimThreads(keep int) (before, after int) {
	trimProcs.Lock()
	defer trimProcs.Unlock()
	procs := runtime.GOMAXPROCS(1)
	defer func() {
		if os.Getenv("GOMAXPROCS") == "" {
			runtime.SetDefaultGOMAXPROCS() // the runtime's own choice, which follows the CPU limit
			if runtime.GOMAXPROCS(0) == procs {
				return
			}
		}
		runtime.GOMAXPROCS(procs)
	}()
	return lab.TrimThreads(keep)
}

// newLogger makes the daemon's structured logger.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opt := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opt))
	}
	return slog.New(slog.NewTextHandler(w, opt))
}

// NewLogger is the logger `nslab proxy` uses: format "json" or "text",
// level "debug", "info", "warn" or "error".
func NewLogger(w io.Writer, format, level string) *slog.Logger { return newLogger(w, format, level) }

// waitReady reads the child's one-line readiness report.
func waitReady(r *os.File, timeout time.Duration, exited <-chan struct{}) error {
	r.SetReadDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		select {
		case <-exited:
			return errors.New("the worker exited during start-up")
		default:
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("the worker did not report ready within %s", timeout)
		}
		return fmt.Errorf("the worker exited during start-up (%v)", err)
	}
	line = strings.TrimSpace(line)
	if msg, ok := strings.CutPrefix(line, "error: "); ok {
		return errors.New(msg)
	}
	return nil
}
