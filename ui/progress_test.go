package ui

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestProgressStore(t *testing.T) {
	t.Run("an older save that finishes last does not overwrite a newer one", func(t *testing.T) {
		s := &store{path: filepath.Join(t.TempDir(), "nslab", "progress.json")}
		p := &Progress{}
		p.Lesson("veth").Step = 1
		older := s.save(p)
		p.Lesson("veth").Step = 2
		newer := s.save(p)
		newer()
		older()
		s.wait(time.Second)
		got := loadProgress(s.path)().(progressLoadedMsg)
		if got.err != nil || got.p.Scenarios["veth"].Step != 2 {
			t.Fatalf("saved %+v (%v), want step 2", got.p.Scenarios["veth"], got.err)
		}
		ents, _ := os.ReadDir(filepath.Dir(s.path))
		if len(ents) != 1 {
			t.Errorf("temp files left: %v", ents)
		}
	})
	t.Run("a damaged file is reported and progress starts afresh", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "progress.json")
		os.WriteFile(path, []byte("{not json"), 0o644)
		got := loadProgress(path)().(progressLoadedMsg)
		if got.err == nil || len(got.p.Scenarios) != 0 {
			t.Errorf("got %+v, %v", got.p, got.err)
		}
	})
	t.Run("XDG_STATE_HOME decides where progress lives", func(t *testing.T) {
		t.Setenv("XDG_STATE_HOME", "/x/state")
		if got := DefaultProgressPath(); got != "/x/state/nslab/progress.json" {
			t.Errorf("got %s", got)
		}
	})
}
