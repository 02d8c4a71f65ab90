package lab

import "sync"

// ChildSetup is work a spawned child does inside its new namespaces before
// it reports ready and waits: Name picks a function registered with
// RegisterChildSetup, Arg is its argument. What the function returns
// becomes the child's Proc.Note. The engine runs it without knowing what
// it is: lessons (lab/script) register their demonstrations here.
type ChildSetup struct {
	Name string `json:"name"`
	Arg  string `json:"arg,omitempty"`
}

var (
	setupsMu sync.Mutex
	setups   = map[string]func(arg string) (string, error){}
)

// RegisterChildSetup registers fn under name for SpawnOptions.Setup. Call
// it from a package init function: the child is this same binary,
// re-executed, and finds fn by name.
func RegisterChildSetup(name string, fn func(arg string) (string, error)) {
	setupsMu.Lock()
	defer setupsMu.Unlock()
	setups[name] = fn
}

func childSetup(name string) func(string) (string, error) {
	setupsMu.Lock()
	defer setupsMu.Unlock()
	return setups[name]
}
