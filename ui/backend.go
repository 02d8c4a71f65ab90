package ui

import (
	"context"

	"github.com/nslab/nslab/ui/panels"
)

// The UI runs nothing itself. It drives a Lab (the lab/script runner, in
// production) and reads a Source (lab/probe), always from a tea.Cmd. Both
// are interfaces so that tests run the whole UI on fakes, without root.

// Scenario is what the catalog and the lesson screen show of a scenario.
type Scenario struct {
	ID, Title, Summary, Level string
	Minutes                   int
	Tags                      []string
	Group                     string // the part of the course it belongs to
	Intro                     string // Markdown shown before step 1
	Unavailable               string // why it cannot run on this machine; "" if it can
	Steps                     []Step
}

// Step is one `##` section of a scenario.
type Step struct {
	Title    string
	Prose    string    // Markdown narration
	Commands []Command // the `lab` block, one per line
	Checks   []string  // the `check` block, one per line
	Sh, Go   string    // the `sh` and `go` blocks (or generated from Commands)
	Hint     string    // shown when a check fails
	// HandsOn is what the learner types in a hands-on step (its `lab
	// unattended` block, with each line's shell form): shown, and typed
	// into a second terminal for them.
	HandsOn []Command
	// A challenge states its goal in the prose; Hints are revealed one at a
	// time, then Solution.
	Hints    []string
	Solution []Command
	Waits    bool     // a check waits for the learner (`within`)
	Predict  *Predict // asked before the step runs; nil if none
}

// Challenge reports whether the step is a challenge.
func (s Step) Challenge() bool { return len(s.Solution) > 0 }

// Predict is a question asked before a step runs.
type Predict struct {
	Question string
	Kind     string   // choice, number, yesno
	Choices  []string // for choice
	Answer   string   // the right answer, as the learner reads it
	Why      string
	See      int // index of the check whose result is the live answer
	// Judge reads a guess (a choice's number, a number, yes or no); an
	// error means it does not read and the question is asked again.
	Judge func(guess string) (text string, right bool, err error)
}

// Command is one line of a `lab` block with what it looks like elsewhere.
type Command struct {
	Text    string // as the learner reads and types it
	Sh      string // the iproute2 / nsenter equivalent
	Go      string // the Go it runs
	LabOnly bool   // only the lab's prompt can do it (a socket or child of the lab's own)
}

// EventKind says what happened while a step ran.
type EventKind int

const (
	CommandStarted EventKind = iota // Index: the command
	CommandDone                     // Output, Err, Col
	CheckStarted                    // Index: the check
	CheckWaiting                    // an `expect … within` is polling; Detail: what it sees now
	CheckDone                       // OK, Detail
	StepSkipped                     // Detail: why this machine cannot run the step
	// ShellResolved carries, once the step's commands have run, the shell
	// form of its hands-on commands (then of its solution's) with the
	// real PIDs of the children they name, in Shell.
	ShellResolved
)

// Event is one report from a running step.
type Event struct {
	Kind   EventKind
	Index  int
	Output string
	Err    error
	Col    int // 1-based column of the error in the command, 0 if unknown
	OK     bool
	Detail string
	Seen   string   // CheckDone: what the kernel showed, in a few words
	Shell  []string // ShellResolved
}

// Result is the outcome of one line typed at the free-lab prompt.
type Result struct {
	Output string
	Err    error
	Col    int  // 1-based column of the error, 0 if unknown
	Check  bool // the line was an `expect` check
	OK     bool // and it held
}

// Lab is the runner the lesson and the free lab drive. Every method may
// block: the UI calls them only from a tea.Cmd.
type Lab interface {
	// Scenarios lists the catalog, with what this machine cannot run.
	Scenarios() []Scenario
	// Prepare tears down what the lab made and quietly rebuilds the state of
	// steps [0, from) of the scenario (the runner's --from).
	Prepare(ctx context.Context, scenario string, from int) error
	// RunStep runs the step's commands from command index from (len(Commands)
	// runs the checks only), then its checks, reporting each on events. It
	// stops at the first command that fails, and closes events when done.
	RunStep(ctx context.Context, scenario string, step, from int, events chan<- Event)
	// Exec runs one line typed at the free-lab prompt.
	Exec(ctx context.Context, line string) Result
	// Complete returns the candidates for the word before cursor.
	Complete(line string, cursor int) []string
	// Commands lists the command words, for help and completion.
	Commands() []string
	// Holders says, for each of the lab's namespaces, what keeps it alive.
	Holders(ctx context.Context) []NamespaceHolders
}

// NamespaceHolders is what keeps one namespace alive, as `holders` prints
// it: a summary line, then one line per holder.
type NamespaceHolders struct {
	Name    string
	Summary string
	Lines   []string
	Err     error
}

// Source reads the kernel for the live panels: the watched processes, the
// names of namespaces and the lab's topology.
type Source interface {
	Snapshot(ctx context.Context) (*panels.Snapshot, error)
}

// loadErrors is implemented by a Lab whose catalog had scenario files that
// did not lint: the catalog says so rather than hide them silently.
type loadErrors interface{ LoadErrors() []error }
