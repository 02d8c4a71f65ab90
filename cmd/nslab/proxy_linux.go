package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nslab/nslab/lab/proxy"
)

// proxyCmd is the proxy daemon: listeners in many namespaces, a control
// socket, structured logs, graceful shutdown on SIGINT/SIGTERM.
func setupProxy() {
	var (
		file, control, strategy, name, logFormat, logLevel, metrics, state string
		tenants, routes                                                    []string
		trim, scaleProcs                                                   bool
	)
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the multi-namespace proxy daemon",
		Long: `Run the proxy daemon: one process that listens inside many network namespaces
and forwards what it accepts, controlled over a unix socket.

A route is LISTEN=TARGET, each NETNS/PROTO/IP:PORT; {tenant} stands for every
tenant's namespace:

  nslab proxy --control /run/nslab/edge.sock \
    --route '{tenant}/tcp/127.0.0.1:8080={tenant}/tcp/10.0.0.1:9000' \
    --tenant alpha --tenant acc=/var/run/docker/netns/1a2b3c

A tenant is NAME (a lab namespace, or any ip netns name) or NAME=NETNS: a
/run/netns name, a path (a container runtime's netns file, /proc/PID/ns/net,
any bind mount) or pid:N.

Or give a YAML file (see docs/proxy.md) with --config; flags override it.
SIGHUP (systemctl reload) reads the file again and applies the difference;
under systemd (Type=notify) it reports readiness on $NOTIFY_SOCKET.
Control it with curl --unix-socket PATH http://proxy/stats; /metrics is in
the Prometheus text format.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			load := func() (proxy.Config, error) {
				// The daemon's policies are on unless the file turns them
				// off; a flag given overrides the file.
				cfg := proxy.Config{TrimThreads: trim, ScaleProcs: scaleProcs}
				if file != "" {
					var err error
					if cfg, err = proxy.LoadConfigOver(file, cfg); err != nil {
						return cfg, err
					}
				}
				if cmd.Flags().Changed("trim-threads") {
					cfg.TrimThreads = trim
				}
				if cmd.Flags().Changed("scale-procs") {
					cfg.ScaleProcs = scaleProcs
				}
				if name != "" {
					cfg.Name = name
				}
				if control != "" {
					cfg.Control = control
				}
				if metrics != "" {
					cfg.Metrics = metrics
				}
				if state != "" {
					cfg.State = state
				}
				if strategy != "" {
					st, err := proxy.ParseStrategy(strategy)
					if err != nil {
						return cfg, fmt.Errorf("--strategy: %w", err)
					}
					cfg.Strategy = st
				}
				for _, r := range routes {
					rt, err := proxy.ParseRouteFlag(r)
					if err != nil {
						return cfg, fmt.Errorf("--route %q: %w", r, err)
					}
					rt.Name = fmt.Sprintf("route%d", len(cfg.Routes)+1)
					cfg.Routes = append(cfg.Routes, rt)
				}
				cfg.Tenants = append(cfg.Tenants, tenants...)
				if cfg.Control == "" {
					return cfg, fmt.Errorf("give a control socket: --control PATH (or control: in the config)")
				}
				if err := cfg.Validate(); err != nil {
					return cfg, err
				}
				cfg.Logger = proxy.NewLogger(cmd.ErrOrStderr(), logFormat, logLevel)
				return cfg, nil
			}
			// A config that does not load at start is a usage error; a
			// reload that fails keeps the running config and says why.
			if _, err := load(); err != nil {
				return &exitError{code: 2, err: err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if ctx == nil {
				ctx = context.Background()
			}
			return proxy.Daemon{Load: load, Notify: true}.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "YAML config file (read again on SIGHUP)")
	f.StringVar(&control, "control", "", "control socket path (HTTP over a unix socket)")
	f.StringVar(&strategy, "strategy", "", "shared, thread-per-namespace, process-per-namespace or blocking-accept")
	f.StringVar(&name, "name", "", "the proxy's name in logs, stats and metrics")
	f.StringSliceVar(&tenants, "tenant", nil, "tenant to bind at start: NAME or NAME=NETNS (repeatable)")
	f.StringArrayVar(&routes, "route", nil, "LISTEN=TARGET, each NETNS/PROTO/IP:PORT (repeatable)")
	f.StringVar(&metrics, "metrics", "", "also serve /metrics at this TCP address, like 127.0.0.1:9108")
	f.StringVar(&state, "state", "", "keep the tenants added over the API in this file, bound again at start")
	f.BoolVar(&trim, "trim-threads", true, "give back the idle OS threads a burst left, once quiet (the daemon's policy; trim_threads: in the config)")
	f.BoolVar(&scaleProcs, "scale-procs", true, "run on as many CPUs at once as the traffic keeps busy, one while one is enough (scale_procs: in the config; GOMAXPROCS in the environment fixes it)")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	root.AddCommand(cmd)
}
