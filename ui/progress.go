package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
)

// Progress is what the learner has done, kept across runs in the XDG state
// directory so that a lesson resumes where it was left.
type Progress struct {
	Scenarios map[string]*LessonProgress `json:"scenarios"`
}

// LessonProgress is one scenario's progress.
type LessonProgress struct {
	Step    int       `json:"step"`   // the step to resume at
	Passed  []bool    `json:"passed"` // per step: all checks held
	Done    bool      `json:"done"`   // every step passed
	Updated time.Time `json:"updated"`
	// Guesses are the learner's answers to the steps' predictions, by
	// step index.
	Guesses map[int]Guess `json:"guesses,omitempty"`
}

// Guess is one answer to a prediction.
type Guess struct {
	Answer string `json:"answer"` // as the learner gave it (the choice's text, a number, yes/no)
	Right  bool   `json:"right"`
}

// Count is how many steps of n have passed.
func (lp *LessonProgress) Count(n int) int {
	c := 0
	for i, p := range lp.Passed {
		if p && i < n {
			c++
		}
	}
	return c
}

// AllPassed reports whether each of n steps has passed: only then is a
// lesson done, however it was reached (a jump skips steps).
func (lp *LessonProgress) AllPassed(n int) bool { return n > 0 && lp.Count(n) == n }

// DefaultProgressPath is $XDG_STATE_HOME/nslab/progress.json, or
// ~/.local/state/nslab/progress.json.
func DefaultProgressPath() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "nslab", "progress.json")
}

// Lesson returns (creating) the progress of one scenario.
func (p *Progress) Lesson(id string) *LessonProgress {
	if p.Scenarios == nil {
		p.Scenarios = map[string]*LessonProgress{}
	}
	lp := p.Scenarios[id]
	if lp == nil {
		lp = &LessonProgress{}
		p.Scenarios[id] = lp
	}
	return lp
}

// Started reports whether the learner has begun any lesson: until then the
// catalog shows where to start.
func (p *Progress) Started() bool {
	for _, lp := range p.Scenarios {
		if lp.Step > 0 || lp.Done || anyTrue(lp.Passed) {
			return true
		}
	}
	return false
}

// Mark is the catalog symbol state: not started, in progress or done.
func (p *Progress) Mark(id string) string {
	lp := p.Scenarios[id]
	switch {
	case lp == nil:
		return "todo"
	case lp.Done:
		return "done"
	case lp.Step > 0 || anyTrue(lp.Passed):
		return "partial"
	}
	return "todo"
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

// clone deep-copies p, so that a save command never shares state with the
// model that keeps changing.
func (p Progress) clone() Progress {
	out := Progress{Scenarios: map[string]*LessonProgress{}}
	for k, v := range p.Scenarios {
		c := *v
		c.Passed = append([]bool(nil), v.Passed...)
		if v.Guesses != nil {
			c.Guesses = make(map[int]Guess, len(v.Guesses))
			for i, g := range v.Guesses {
				c.Guesses[i] = g
			}
		}
		out.Scenarios[k] = &c
	}
	return out
}

type progressLoadedMsg struct {
	p   Progress
	err error
}

type progressSavedMsg struct{ err error }

// loadProgress reads the progress file; a missing file is an empty one.
func loadProgress(path string) tea.Cmd {
	return func() tea.Msg {
		var p Progress
		if path == "" {
			return progressLoadedMsg{p: p}
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return progressLoadedMsg{p: p}
		}
		if err != nil {
			return progressLoadedMsg{p: p, err: fmt.Errorf("read progress: %w", err)}
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return progressLoadedMsg{err: fmt.Errorf("progress file %s is damaged (%v): starting afresh", path, err)}
		}
		return progressLoadedMsg{p: p}
	}
}

// store saves progress from commands. Saves run on their own goroutines
// and may finish in any order, so each carries a sequence number and an
// older one never overwrites a newer one; Wait lets the program's owner
// flush them before exiting.
type store struct {
	path    string
	mu      sync.Mutex // one write at a time
	wg      sync.WaitGroup
	seq     uint64 // last save asked for (Update's goroutine only)
	written uint64 // last save written (under mu)
}

// save returns a command writing a copy of p atomically (temp file +
// rename), or nil when progress is not kept.
func (s *store) save(p *Progress) tea.Cmd {
	if s == nil || s.path == "" {
		return nil
	}
	s.seq++
	seq, snap := s.seq, p.clone()
	s.wg.Add(1)
	return func() tea.Msg {
		defer s.wg.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		if seq < s.written {
			return progressSavedMsg{}
		}
		if err := writeProgress(s.path, snap); err != nil {
			return progressSavedMsg{err}
		}
		s.written = seq
		return progressSavedMsg{}
	}
}

// wait waits up to d for the saves already started.
func (s *store) wait(d time.Duration) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

func writeProgress(path string, p Progress) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".progress-*")
	if err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save progress: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save progress: %w", err)
	}
	return nil
}
