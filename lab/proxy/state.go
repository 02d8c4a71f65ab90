package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// stateFile keeps the tenants added over the API, so that a restart (or a
// crash) binds them again. The config file's own tenants are not in it:
// the config says those.
type stateFile struct {
	path string
	mu   sync.Mutex
	st   state
}

type state struct {
	// Tenants are written as ParseTenant reads them.
	Tenants []string `json:"tenants"`
}

// openState reads the state file at path; a missing one is empty.
func openState(path string) (*stateFile, error) {
	f := &stateFile{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("state file: %w", err)
	}
	if err := json.Unmarshal(b, &f.st); err != nil {
		return nil, fmt.Errorf("state file %s: %v: fix or remove it (it lists the tenants added over the API)", path, err)
	}
	for _, t := range f.st.Tenants {
		if _, _, err := ParseTenant(t); err != nil {
			return nil, fmt.Errorf("state file %s: %w", path, err)
		}
	}
	return f, nil
}

func (f *stateFile) tenants() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.st.Tenants)
}

// add records a tenant (replacing one of the same name).
func (f *stateFile) add(spec string) {
	name, _, _ := ParseTenant(spec)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Tenants = slices.DeleteFunc(f.st.Tenants, func(s string) bool { n, _, _ := ParseTenant(s); return n == name })
	f.st.Tenants = append(f.st.Tenants, spec)
}

// remove forgets a tenant by name.
func (f *stateFile) remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Tenants = slices.DeleteFunc(f.st.Tenants, func(s string) bool { n, _, _ := ParseTenant(s); return n == name })
}

// save writes the file whole, or not at all: a temporary file beside it,
// synced, renamed over it.
func (f *stateFile) save() error {
	f.mu.Lock()
	b, err := json.MarshalIndent(f.st, "", "  ")
	f.mu.Unlock()
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".nslab-state-")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		return fmt.Errorf("state file %s: %w", f.path, err)
	}
	return nil
}
