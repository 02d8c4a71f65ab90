package lab

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kind is the kind of resource a journal entry records.
type Kind string

// Resource kinds, in the order Cleanup removes them when it has no other
// order to follow: processes first (they may hold namespaces), then links,
// then namespaces, then files.
const (
	KindProc  Kind = "proc"  // a spawned child: PID + start time
	KindLink  Kind = "link"  // a link, by name, in Netns ("" = host)
	KindNetns Kind = "netns" // a named network namespace under /run/netns
	KindFile  Kind = "file"  // a file or socket the lab made (control sockets)
	KindDir   Kind = "dir"   // a directory of the lab's under RunDir, with all it holds (a bench's configs and logs)
)

// Entry is one line of a journal.
type Entry struct {
	Op    string `json:"op"` // "session", "add", "id" or "del"
	Kind  Kind   `json:"kind,omitempty"`
	Name  string `json:"name,omitempty"`  // system name (nslab-alpha, nslab-br0, eth0)
	Label string `json:"label,omitempty"` // what the learner calls it (spawn name)
	Netns string `json:"netns,omitempty"` // for links: the system name of its namespace, "" = host
	PID   int    `json:"pid,omitempty"`   // for procs and the session header
	UID   int    `json:"uid,omitempty"`   // the session header: whose lab it is (LearnerUID; 0 = root)
	Start uint64 `json:"start,omitempty"` // process start time (clock ticks since boot)
	Path  string `json:"path,omitempty"`  // for files
	// Identity, recorded (op "id") once the resource exists, so that one
	// made again under the same name by someone else is never taken for
	// it: a namespace's inode, a host link's ifindex. 0 = not known (a
	// crash came first, or an older journal): the name alone decides.
	Ino   uint64    `json:"ino,omitempty"`
	Index int       `json:"index,omitempty"`
	Time  time.Time `json:"time"`
}

// resource is what identifies the resource an entry records: a process by
// PID and start time, a file by path, a link by namespace and name,
// anything else by name. It is comparable and built without allocating:
// the panels read every journal in the run directory (thousands of entries
// after a bench) every few seconds.
type resource struct {
	kind              Kind
	name, netns, path string
	pid               int
	start             uint64
}

func (e Entry) resource() resource {
	switch e.Kind {
	case KindProc:
		return resource{kind: e.Kind, pid: e.PID, start: e.Start}
	case KindFile, KindDir:
		return resource{kind: e.Kind, path: e.Path}
	case KindLink:
		return resource{kind: e.Kind, netns: e.Netns, name: e.Name}
	}
	return resource{kind: e.Kind, name: e.Name}
}

// same reports whether e and o record the same resource.
func (e Entry) same(o Entry) bool { return e.resource() == o.resource() }

func (e Entry) String() string {
	switch e.Kind {
	case KindProc:
		if e.Label != "" {
			return fmt.Sprintf("process %s (pid %d)", e.Label, e.PID)
		}
		return fmt.Sprintf("process %d", e.PID)
	case KindLink:
		if e.Netns == "" {
			return "link " + e.Name
		}
		return fmt.Sprintf("link %s in %s", e.Name, e.Netns)
	case KindNetns:
		return "netns " + e.Name
	case KindFile:
		return "file " + e.Path
	case KindDir:
		return "directory " + e.Path
	}
	return string(e.Kind) + " " + e.Name
}

// RunDir is where journals live: $NSLAB_RUN_DIR, or /run/nslab. /run is
// usually a tmpfs, so journals (like the namespaces they record) do not
// outlive a reboot; where it is not, a journal that does is harmless: what
// it records is gone, and Cleanup finds that out and removes the journal.
func RunDir() string {
	if d := os.Getenv("NSLAB_RUN_DIR"); d != "" {
		return d
	}
	return "/run/nslab"
}

// Journal is the append-only record of one session. Every resource is
// written (and synced) before it is created, and marked deleted after it is
// removed, so a reader after a crash sees a superset of what exists.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
	live []Entry // adds not yet deleted, in creation order
}

func newSessionID() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", time.Now().UTC().Format("20060102T150405"), os.Getpid(), hex.EncodeToString(b[:]))
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Add records e before the resource is created.
func (j *Journal) Add(e Entry) error {
	e.Op = "add"
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.write(e); err != nil {
		return err
	}
	j.live = append(j.live, e)
	return nil
}

// Done records that the resource e is gone (removed, or never made).
func (j *Journal) Done(e Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.live) - 1; i >= 0; i-- {
		if j.live[i].same(e) {
			j.live = append(j.live[:i], j.live[i+1:]...)
			break
		}
	}
	e.Op = "del"
	return j.write(e)
}

// Identify records the identity (Ino or Index) of a resource Add recorded
// and that now exists.
func (j *Journal) Identify(e Entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	identify(j.live, e)
	e.Op = "id"
	// Not synced: a killed process loses nothing already written, and a
	// line lost to a machine crash only means the name alone decides.
	// (Where /run is not a tmpfs, a sync costs ~0.3 ms.)
	return j.writeNoSync(e)
}

// identify copies e's identity onto the newest live entry for the same
// resource.
func identify(live []Entry, e Entry) {
	for i := len(live) - 1; i >= 0; i-- {
		if live[i].same(e) {
			setIdentity(&live[i], e)
			return
		}
	}
}

// setIdentity copies what an "id" entry e learnt into the add it names.
func setIdentity(add *Entry, e Entry) {
	if e.Ino != 0 {
		add.Ino = e.Ino
	}
	if e.Index != 0 {
		add.Index = e.Index
	}
}

// Live returns the resources recorded and not yet removed, oldest first.
func (j *Journal) Live() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Entry(nil), j.live...)
}

func (j *Journal) write(e Entry) error {
	if err := j.writeNoSync(e); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *Journal) writeNoSync(e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	return nil
}

// JournalFile is a journal read back from disk.
type JournalFile struct {
	Path    string
	Session Entry   // the header: who wrote it
	Live    []Entry // resources added and not deleted, oldest first
	Alive   bool    // the writing process still holds the journal's lock
	Err     error   // the file could not be read completely (a torn last line is not an error)
}

// ReadJournals reads every journal under dir, oldest first.
func ReadJournals(dir string) ([]JournalFile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.journal"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]JournalFile, 0, len(names))
	for _, p := range names {
		out = append(out, readJournal(p))
	}
	return out, nil
}

func readJournal(path string) JournalFile {
	jf := JournalFile{Path: path}
	f, err := os.Open(path)
	if err != nil {
		jf.Err = err
		return jf
	}
	defer f.Close()
	jf.Alive = journalLocked(f)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	// Each resource's adds not yet deleted, oldest first (by index into
	// jf.Live), and the adds a del removed: one pass, however long the
	// journal, rather than a search of the adds for every del.
	latest := map[resource][]int{}
	gone := map[int]bool{}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var e Entry
		if err := json.Unmarshal([]byte(text), &e); err != nil {
			// A line torn by a crash mid-write can only be the last one;
			// anything else is damage worth reporting.
			jf.Err = fmt.Errorf("%s:%d: %v", path, line, err)
			continue
		}
		switch e.Op {
		case "session":
			jf.Session = e
		case "add":
			k := e.resource()
			latest[k] = append(latest[k], len(jf.Live))
			jf.Live = append(jf.Live, e)
		case "id", "del":
			// Both name the latest add of the resource not yet deleted.
			k := e.resource()
			s := latest[k]
			if len(s) == 0 {
				continue
			}
			if e.Op == "id" {
				setIdentity(&jf.Live[s[len(s)-1]], e)
				continue
			}
			gone[s[len(s)-1]] = true
			latest[k] = s[:len(s)-1]
		}
	}
	if len(gone) > 0 {
		kept := jf.Live[:0]
		for i, e := range jf.Live {
			if !gone[i] {
				kept = append(kept, e)
			}
		}
		jf.Live = kept
	}
	if err := sc.Err(); err != nil && jf.Err == nil {
		jf.Err = err
	}
	if jf.Err != nil && isTornLastLine(path) {
		jf.Err = nil
	}
	return jf
}

// isTornLastLine reports whether a journal's only damage is an unterminated
// last line, which a kill in the middle of a write leaves.
func isTornLastLine(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 || b[len(b)-1] == '\n' {
		return false
	}
	lines := strings.Split(strings.TrimRight(string(b[:strings.LastIndexByte(string(b), '\n')+1]), "\n"), "\n")
	for _, l := range lines {
		if l != "" && !json.Valid([]byte(l)) {
			return false
		}
	}
	return true
}

// OwnedNames returns, from every journal under dir, the system names of the
// namespaces and host links and the PIDs the lab recorded as live. Probes use
// it to name what they see; Cleanup uses it to decide what it may remove.
func OwnedNames(dir string) (netns map[string]bool, links map[string]bool, procs map[int]Entry) {
	netns, links, procs = map[string]bool{}, map[string]bool{}, map[int]Entry{}
	jfs, _ := ReadJournals(dir)
	for _, jf := range jfs {
		for _, e := range jf.Live {
			switch e.Kind {
			case KindNetns:
				netns[e.Name] = true
			case KindLink:
				if e.Netns == "" {
					links[e.Name] = true
				}
			case KindProc:
				procs[e.PID] = e
			}
		}
	}
	return
}

var errJournalBusy = errors.New("journal in use by a running session")

// Leftovers counts what dead sessions of the learner uid (-1: anyone's)
// recorded and did not remove: the next lab start tells the user (and
// offers `nslab cleanup`).
func Leftovers(dir string, uid int) (sessions, resources int) {
	jfs, _ := ReadJournals(dir)
	for _, jf := range jfs {
		if !jf.Alive && len(jf.Live) > 0 && (uid < 0 || jf.Session.UID == uid) {
			sessions++
			resources += len(jf.Live)
		}
	}
	return sessions, resources
}

// LiveOwned returns the namespaces and host links that running sessions
// (their journal still locked) own: not leftovers, whoever sees them.
func LiveOwned(dir string) (netns, links map[string]bool) {
	netns, links = map[string]bool{}, map[string]bool{}
	jfs, _ := ReadJournals(dir)
	for _, jf := range jfs {
		if !jf.Alive {
			continue
		}
		for _, e := range jf.Live {
			switch {
			case e.Kind == KindNetns:
				netns[e.Name] = true
			case e.Kind == KindLink && e.Netns == "":
				links[e.Name] = true
			}
		}
	}
	return netns, links
}
