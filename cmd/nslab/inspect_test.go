package main

import (
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/nslab/nslab/lab/probe"
)

func TestInspectSummaryReadsLikeASentence(t *testing.T) {
	names := &probe.Names{}
	s := &probe.Snapshot{PID: 7, Namespaces: map[string]uint64{"net": 1}}
	for i := range 212 {
		s.Sockets = append(s.Sockets, probe.Socket{FD: i, NetNS: uint64(100 + i%100)})
	}
	for i := range 6 {
		s.Threads = append(s.Threads, probe.Thread{TID: i, NetNS: 1})
	}
	v := newInspectView(s, names, inspectOptions{})
	if want := "212 sockets in 100 namespaces, all 6 threads in net:[1]"; v.Summary != want {
		t.Errorf("summary %q, want %q", v.Summary, want)
	}
	s.Threads[0].NetNS = 100
	if v := newInspectView(s, names, inspectOptions{}); !strings.Contains(v.Summary, "6 threads: 5 in net:[1], 1 in net:[100]") {
		t.Errorf("summary %q", v.Summary)
	}
}

func TestInspectSaysUnknownRatherThanZero(t *testing.T) {
	names := &probe.Names{}
	for _, tc := range []struct {
		name          string
		snap          probe.Snapshot
		summary, head string
	}{
		{"a process without sockets has no sockets",
			probe.Snapshot{NumThreads: 1, FDs: 3},
			"no sockets", "1 thread, RSS 0 B (peak 0 B), 3 file descriptors open"},
		{"sockets whose namespace could not be read are counted, their namespaces unknown",
			probe.Snapshot{FDs: 5, Sockets: []probe.Socket{{FD: 3, Err: "x"}, {FD: 4, Err: "x"}}, Errors: map[string]string{"sockets": "pidfd_getfd: ENOSYS"}},
			"2 sockets, namespaces unknown", "0 threads, RSS 0 B (peak 0 B), 5 file descriptors open"},
		{"unreadable descriptors and status are unknown, not 0",
			probe.Snapshot{Errors: map[string]string{"fds": "permission denied", "sockets": "permission denied", "status": "exited"}},
			"sockets unknown", "threads and RSS unknown, open file descriptors unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newInspectView(&tc.snap, names, inspectOptions{})
			if v.Summary != tc.summary {
				t.Errorf("summary %q, want %q", v.Summary, tc.summary)
			}
			if h := header(v); h != tc.head {
				t.Errorf("header %q, want %q", h, tc.head)
			}
		})
	}
}

func TestInspectThisProcessAsJSONAndTable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	var out, errw bytes.Buffer
	if err := runInspect(&out, &errw, inspectOptions{pids: []int{os.Getpid()}, json: true, threads: true, sockets: true}); err != nil {
		t.Fatalf("%v: %s", err, errw.String())
	}
	var rep inspectReport
	err := json.Unmarshal(out.Bytes(), &rep)
	views := rep.Processes
	if err != nil || rep.Schema != jsonSchema {
		t.Fatalf("schema %d, %v", rep.Schema, err)
	}
	if len(views) != 1 || len(views[0].Namespaces) != len(probe.Types) || len(views[0].Threads) == 0 || views[0].Summary == "" {
		t.Errorf("inspect --json of itself: %s", out.String())
	}
	out.Reset()
	if err := runInspect(&out, &errw, inspectOptions{pids: []int{os.Getpid()}, threads: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NAMESPACE", "pid_for_children", "TID", "threads in"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if err := runInspect(&out, &errw, inspectOptions{pids: []int{1 << 30}}); err == nil || !strings.Contains(errw.String(), "does not exist") {
		t.Errorf("a missing PID: err %v, stderr %q", err, errw.String())
	}
}
