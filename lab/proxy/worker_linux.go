package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nslab/nslab/lab"
)

// StartWorker runs a proxy daemon as a child process of this binary under
// session s (which journals it, and kills it and removes its control socket,
// its log and, for process-per-namespace, its children's sockets when the
// session closes). It waits until the worker is serving and
// returns a client for its control socket. name is the process's name in
// the session; cfg.Control defaults to a socket in the lab's run directory.
func StartWorker(s *lab.Session, name string, cfg Config) (*Client, *lab.Proc, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if cfg.Name == "" {
		cfg.Name = name
	}
	if cfg.Control == "" {
		cfg.Control = filepath.Join(lab.RunDir(), fmt.Sprintf("proxy-%s-%d.sock", name, os.Getpid()))
	}
	if err := s.TrackFile(cfg.Control); err != nil {
		return nil, nil, err
	}
	// A lab's workers give back the threads a bind storm left (the
	// thread counts the lessons show are what the strategy needs).
	cfg.TrimThreads = true
	ws := workerSpec{Config: cfg, Log: "text", Level: "warn"}
	if cfg.Strategy == ProcessPerNamespace {
		// Its children's control sockets go in a directory the session
		// removes: a worker the session ends (with SIGKILL) cannot.
		dir, err := s.TempDir("proxy-")
		if err != nil {
			return nil, nil, err
		}
		ws.ChildDir = dir
	}
	spec, err := json.Marshal(ws)
	if err != nil {
		return nil, nil, err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer readyR.Close()
	// The worker logs to a file beside its control socket, not to our
	// stderr: it may outlive us (nslab run --keep), and holding our pipe it
	// kept `nslab run ... | tee` waiting until cleanup; under the TUI its
	// lines would land in the middle of the screen.
	logPath := strings.TrimSuffix(cfg.Control, ".sock") + ".log"
	if err := s.TrackFile(logPath); err != nil {
		readyW.Close()
		return nil, nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		readyW.Close()
		return nil, nil, fmt.Errorf("proxy worker %s log: %w", name, err)
	}
	defer logf.Close()
	specR, specW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, nil, err
	}
	cmd := lab.Reexec("proxy-worker", name)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW, specR}
	proc, err := s.StartProcess(name, cmd)
	readyW.Close()
	specR.Close()
	if err != nil {
		specW.Close()
		return nil, nil, err
	}
	go sendSpec(specW, spec)
	if err := waitReady(readyR, readyWithin(cfg), proc.Done()); err != nil {
		s.Kill(name)
		return nil, nil, fmt.Errorf("proxy worker %s: %w%s", name, err, logTail(logPath))
	}
	c, err := Dial(cfg.Control)
	if err != nil {
		s.Kill(name)
		return nil, nil, err
	}
	return c, proc, nil
}

// logTail is the end of a worker's log, to show with a failed start (a
// panic, say), or "" if it is empty.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return fmt.Sprintf("; its log (%s) ends:\n%s", path, bytes.TrimSpace(b))
}

// sendSpec writes a worker's spec to the pipe it reads it from (fd 4),
// then closes it: the config reaches the worker neither through its
// environment (which /proc/PID/environ shows, and which every process it
// starts inherits) nor through a file.
func sendSpec(w *os.File, spec []byte) {
	w.Write(spec)
	w.Close()
}

// readyWithin is how long a worker may take to say it is ready: 30 s, and
// with process-per-namespace a second more for each tenant, since it
// starts a process in each before it is ready (one a second, or slower,
// where the binary has the race detector and the machine is busy).
func readyWithin(cfg Config) time.Duration {
	d := 30 * time.Second
	if cfg.Strategy == ProcessPerNamespace {
		d += time.Duration(len(cfg.Tenants)) * time.Second
	}
	return d
}
