package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
)

// progressLine shows, on a terminal, that a long command is still going:
// after a second without an answer, one line on stderr with the command,
// how far it has got (netns add t{1..300}: 120/300) and the time so far,
// rewritten in place and erased when the command ends. Nothing is written
// when stderr is not a terminal (a log, a pipe, CI).
type progressLine struct {
	w     io.Writer // nil: not a terminal
	fd    uintptr
	after time.Duration // quiet this long first

	mu          sync.Mutex
	text        string
	start       time.Time
	done, total int
	shown       bool
	stop        chan struct{}
	stopped     chan struct{}
}

func newProgressLine(stderr io.Writer) *progressLine {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(f.Fd()) {
		return &progressLine{w: f, fd: f.Fd(), after: time.Second}
	}
	return &progressLine{}
}

// Start begins watching a command.
func (p *progressLine) Start(text string) {
	if p.w == nil {
		return
	}
	p.End()
	p.mu.Lock()
	p.text, p.start, p.done, p.total = text, time.Now(), 0, 0
	p.stop, p.stopped = make(chan struct{}), make(chan struct{})
	stop, stopped := p.stop, p.stopped
	p.mu.Unlock()
	go func() {
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
}

// Count records how far the command has got.
func (p *progressLine) Count(done, total int) {
	p.mu.Lock()
	p.done, p.total = done, total
	p.mu.Unlock()
}

// End stops watching and erases the line, before the command's own output
// is printed.
func (p *progressLine) End() {
	p.mu.Lock()
	stop, stopped := p.stop, p.stopped
	p.stop = nil
	p.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-stopped
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progressLine) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	el := time.Since(p.start)
	if el < p.after {
		return
	}
	count := ""
	if p.total > 0 {
		count = fmt.Sprintf("  %d/%d", p.done, p.total)
	}
	line := fmt.Sprintf("  … %s%s  %.1fs", p.text, count, el.Seconds())
	if w, _, err := term.GetSize(p.fd); err == nil && w > 1 {
		line = ansi.Truncate(line, w-1, "…") // one row, or \r would not erase it
	}
	fmt.Fprint(p.w, "\r\x1b[K"+line)
	p.shown = true
}
