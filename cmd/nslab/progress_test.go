package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is written by the progress goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestProgressLineShowsTheCountAndErasesItself(t *testing.T) {
	var buf lockedBuffer
	p := &progressLine{w: &buf, fd: ^uintptr(0)} // no terminal size: no cut
	p.Start("netns add t{1..300}")
	p.Count(120, 300)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), "120/300") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.End()
	out := buf.String()
	if !strings.Contains(out, "\r\x1b[K  … netns add t{1..300}  120/300") {
		t.Fatalf("no progress line: %q", out)
	}
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("the line is not erased at the end: %q", out)
	}
	n := len(out)
	p.End() // a second End writes nothing
	if len(buf.String()) != n {
		t.Error("End wrote again")
	}
}

func TestProgressLineIsSilentOffATerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgressLine(&buf)
	p.Start("netns add t{1..300}")
	p.Count(1, 300)
	p.End()
	if buf.Len() != 0 {
		t.Errorf("wrote %q to something that is not a terminal", buf.String())
	}
}
