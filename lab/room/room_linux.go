package room

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nslab/nslab/lab"
)

// Options configure a room.
type Options struct {
	// Accounts are the unprivileged accounts learners run as, one per
	// learner at a time (nslab-learner1, nslab-learner2 ...).
	Accounts []Account
	// MaxLearners caps the learners at once (0: one per account).
	MaxLearners int
	// Limits bound each learner's sandbox.
	Limits lab.SandboxLimits
	// Grace is how long a lab waits for its learner to reconnect.
	Grace time.Duration
	// Session caps a learner's time from first join (0: none).
	Session time.Duration
	// Stuck is how long a step may fail before the board says stuck.
	Stuck time.Duration
	// Dir holds the control sockets, PID-ACCOUNT.sock (each removed once
	// its TUI has connected; sockets of dead servers are swept at New).
	Dir string
	// Env is extra environment for every learner's TUI.
	Env []string
	// Args is the nslab command line each learner runs (nil: the TUI).
	Args []string
}

// Account is a system account a learner's lab runs as.
type Account struct {
	Name     string
	UID, GID int
}

// Room is a set of learners; its methods are safe for concurrent use.
type Room struct {
	opt Options

	mu       sync.Mutex
	learners map[string]*Learner
	busy     map[int]bool // account uids in use
	closed   bool
	changed  chan struct{} // closed and replaced on every change
}

// ErrFull means the room has no place (or no free account) left.
var ErrFull = errors.New("the room is full")

// New makes a room; Close ends every learner's lab.
func New(opt Options) (*Room, error) {
	if len(opt.Accounts) == 0 {
		return nil, errors.New("no learner accounts: nslab serve runs each learner as an account of its own (useradd --system nslab-learner1 ...; nslab serve --help)")
	}
	if opt.MaxLearners <= 0 || opt.MaxLearners > len(opt.Accounts) {
		opt.MaxLearners = len(opt.Accounts)
	}
	if opt.Grace <= 0 {
		opt.Grace = 10 * time.Minute
	}
	if opt.Stuck <= 0 {
		opt.Stuck = 5 * time.Minute
	}
	if err := os.MkdirAll(opt.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("make the room's directory: %w", err)
	}
	os.Chmod(opt.Dir, 0o711)
	sweep(opt.Dir)
	return &Room{opt: opt, learners: map[string]*Learner{}, busy: map[int]bool{}, changed: make(chan struct{})}, nil
}

// Join returns the learner called name, starting their lab on a terminal
// of cols x rows if they have none. key identifies the learner's SSH key
// ("" for a room code): a name first taken with a key can be resumed only
// with that key.
func (r *Room) Join(name, key, term string, cols, rows int) (*Learner, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errors.New("the room is closing")
	}
	if l := r.learners[name]; l != nil {
		r.mu.Unlock()
		if l.key != "" && l.key != key {
			return nil, fmt.Errorf("the name %s is taken in this room by someone with another key; pick another name (ssh OTHER@host)", name)
		}
		<-l.started // a second connection while the first one's lab starts
		if l.Sandbox() == nil {
			return nil, fmt.Errorf("%s's lab did not start; connect again", name)
		}
		return l, nil
	}
	if len(r.learners) >= r.opt.MaxLearners {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: %d learner(s) already (--max-learners); try again when someone leaves", ErrFull, r.opt.MaxLearners)
	}
	var acct *Account
	for i := range r.opt.Accounts {
		if !r.busy[r.opt.Accounts[i].UID] {
			acct = &r.opt.Accounts[i]
			break
		}
	}
	if acct == nil {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: every learner account is in use", ErrFull)
	}
	l := &Learner{room: r, Name: name, Account: *acct, key: key, joined: time.Now(), started: make(chan struct{}), ended: make(chan struct{})}
	r.busy[acct.UID] = true
	r.learners[name] = l
	r.mu.Unlock()
	if err := l.start(term, cols, rows); err != nil {
		r.remove(l)
		return nil, err
	}
	r.notify()
	return l, nil
}

// remove forgets an ended learner and frees their account.
func (r *Room) remove(l *Learner) {
	r.mu.Lock()
	if r.learners[l.Name] == l {
		delete(r.learners, l.Name)
	}
	delete(r.busy, l.Account.UID)
	r.mu.Unlock()
	r.notify()
}

// notify wakes whoever waits on Changed.
func (r *Room) notify() {
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Changed is closed at the next change of any learner.
func (r *Room) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// Learner returns the learner called name, or nil.
func (r *Room) Learner(name string) *Learner {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.learners[name]
}

// all lists the learners, in no order; the room's lock is free again on
// return (a learner's methods take their own).
func (r *Room) all() []*Learner {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Values(r.learners))
}

// Snapshot lists every learner, by name.
func (r *Room) Snapshot() []Info {
	ls := r.all()
	out := make([]Info, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.Info())
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Move sends every learner to a step of a lesson (step from 0), and
// returns how many it reached.
func (r *Room) Move(lesson string, step int) int {
	n := 0
	for _, l := range r.all() {
		if l.Goto(lesson, step) == nil {
			n++
		}
	}
	return n
}

// Stuck is how long a failing step takes to count as stuck.
func (r *Room) Stuck() time.Duration { return r.opt.Stuck }

// Close ends every learner's lab and waits for them to end.
func (r *Room) Close() {
	r.mu.Lock()
	r.closed = true
	ls := slices.Collect(maps.Values(r.learners))
	r.mu.Unlock()
	for _, l := range ls {
		l.End("the room is closing")
	}
	for _, l := range ls {
		<-l.ended
	}
}

// sweep removes the control sockets of servers that are gone (killed
// before their learners' TUIs connected).
func sweep(dir string) {
	socks, _ := filepath.Glob(filepath.Join(dir, "*-*.sock"))
	for _, s := range socks {
		pid, err := strconv.Atoi(strings.SplitN(filepath.Base(s), "-", 2)[0])
		if err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
			os.Remove(s)
		}
	}
}

// LookupAccounts finds the accounts PREFIX1, PREFIX2 ... up to n (or
// until one is missing when n is 0). They must not be root.
func LookupAccounts(prefix string, n int) ([]Account, error) {
	var out []Account
	for i := 1; n == 0 || i <= n; i++ {
		name := prefix + strconv.Itoa(i)
		uid, gid, err := lookupUser(name)
		if err != nil {
			if n == 0 {
				break
			}
			return out, fmt.Errorf("account %s: %w (make them: for i in $(seq %d); do useradd --system %s$i; done)", name, err, n, prefix)
		}
		if uid == 0 {
			return out, fmt.Errorf("account %s is root: learners never run as root", name)
		}
		out = append(out, Account{Name: name, UID: uid, GID: gid})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no account %s1: make the learner accounts first (for i in $(seq 30); do useradd --system %s$i; done)", prefix, prefix)
	}
	return out, nil
}

// credential is how the account's lab is started.
func (a Account) credential() *syscall.Credential {
	return &syscall.Credential{Uid: uint32(a.UID), Gid: uint32(a.GID), Groups: []uint32{}}
}

// socketPath is where a learner's TUI reports.
func (r *Room) socketPath(a Account) string {
	return filepath.Join(r.opt.Dir, fmt.Sprintf("%d-%s.sock", os.Getpid(), a.Name))
}
