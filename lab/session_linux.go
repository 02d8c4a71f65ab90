package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Options configure a Session.
type Options struct {
	// RunDir holds the journal; default RunDir().
	RunDir string
}

// Session owns every resource of one lab run. Its methods are safe for
// concurrent use. Close removes everything it created, newest first.
type Session struct {
	id      string
	dir     string // where the journals are
	journal *Journal
	host    *Netns // the namespace the session started in

	mu        sync.Mutex
	nss       map[string]*nsState // by system name; "" = host
	procs     map[string]*Proc    // spawned children by learner's name
	closed    bool
	closeMu   sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

// nsState caches, per namespace, an open handle and the netlink handle made
// inside it. The inode tells a namespace deleted and recreated under the
// same name from the one the handle was made in.
type nsState struct {
	ns *Netns
	nl *netlink.Handle
}

// NewSession starts a lab session: it checks privileges, opens the journal
// and remembers the current namespace as "host".
func NewSession(opt Options) (*Session, error) {
	if err := CheckPrivileges(); err != nil {
		return nil, err
	}
	dir := opt.RunDir
	if dir == "" {
		dir = RunDir()
	}
	id := newSessionID()
	j, err := openJournal(dir, id)
	if err != nil {
		return nil, err
	}
	host, err := OpenNetnsPath("host", "/proc/self/ns/net")
	if err != nil {
		j.close(true)
		return nil, err
	}
	return &Session{id: id, dir: dir, journal: j, host: host, nss: map[string]*nsState{}, procs: map[string]*Proc{}}, nil
}

// ID names the session (and its journal file).
func (s *Session) ID() string { return s.id }

// JournalPath is the session's journal file.
func (s *Session) JournalPath() string { return s.journal.Path() }

// Owned returns the resources the session has created and not yet removed.
func (s *Session) Owned() []Entry { return s.journal.Live() }

// Host is the namespace the session started in.
func (s *Session) Host() *Netns { return s.host }

// CheckPrivileges reports ErrNotPrivileged, with what to do, unless the
// process has CAP_SYS_ADMIN and CAP_NET_ADMIN (as root has).
func CheckPrivileges() error {
	have, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("read capabilities: %w", err)
	}
	var missing []string
	for _, c := range []struct {
		bit  uint
		name string
	}{{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}, {unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}} {
		if have&(1<<c.bit) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		caps := strings.Join(missing, " and ")
		if os.Geteuid() == 0 {
			// Root without the capabilities: a container without
			// --privileged (or --cap-add), or a dropped bounding set.
			return fmt.Errorf("nslab creates namespaces and links, and this process is root but lacks %s (in a container? start it with --privileged): %w", caps, ErrNotPrivileged)
		}
		return fmt.Errorf("nslab creates namespaces and links, and this user lacks %s: %w", caps, ErrNotPrivileged)
	}
	return nil
}

// effectiveCaps reads this process's effective capability set.
func effectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, err
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, nil
}

// AddNetns creates the named network namespace nslab-NAME, visible to
// `ip netns` and usable from a second terminal.
func (s *Session) AddNetns(name string) (*Netns, error) {
	if err := ValidateNetnsName(name); err != nil {
		return nil, err
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	sys := SysName(name)
	if netnsExists(sys) {
		if _, mine := s.owned(KindNetns, "", sys); mine {
			return nil, fmt.Errorf("network namespace %s already exists: %w: pick another name, or `netns del %s` first", ShortName(name), ErrExists, ShortName(name))
		}
		return nil, fmt.Errorf("network namespace %s (%s): %w: %s; or pick another name",
			ShortName(name), sys, ErrExists, whoOwns(s.dir, s.id, KindNetns, "", sys))
	}
	e := Entry{Kind: KindNetns, Name: sys}
	if err := s.journal.Add(e); err != nil {
		return nil, err
	}
	if err := createNamedNetns(sys); err != nil {
		s.journal.Done(e)
		return nil, err
	}
	ns, err := OpenNetns(sys)
	if err != nil {
		removeNamedNetns(sys)
		s.journal.Done(e)
		return nil, err
	}
	ns.name = ShortName(name)
	// Best effort: without the inode, the name alone identifies it.
	s.journal.Identify(Entry{Kind: KindNetns, Name: sys, Ino: ns.ino})
	return ns, nil
}

// DelNetns removes a namespace the session created. The kernel tears the
// namespace down (and with it every link inside) once nothing holds it.
func (s *Session) DelNetns(name string) error {
	sys := SysName(name)
	e, ok := s.owned(KindNetns, "", sys)
	if !ok {
		if netnsExists(sys) {
			return fmt.Errorf("network namespace %s: %w: the lab removes only what it made; use `ip netns del %s` yourself", sys, ErrNotOwned, sys)
		}
		return fmt.Errorf("network namespace %s: %w", ShortName(name), ErrNotFound)
	}
	s.dropNs(sys)
	if replaced(e) {
		s.forgetNetns(e)
		return fmt.Errorf("network namespace %s was already deleted, and the one of that name now is not this lab's: %w: %s",
			ShortName(name), ErrNotOwned, whoOwns(s.dir, s.id, KindNetns, "", sys))
	}
	if err := removeNamedNetns(sys); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete network namespace %s: %w", ShortName(name), err)
	}
	return s.forgetNetns(e)
}

// forgetNetns marks a namespace, and the links recorded inside it (they went
// with it), as gone from the journal: a namespace made later under the same
// name is not this session's, nor are links in it.
func (s *Session) forgetNetns(e Entry) error {
	for _, o := range s.journal.Live() {
		if o.Kind == KindLink && o.Netns == e.Name {
			s.journal.Done(o)
		}
	}
	return s.journal.Done(e)
}

// NetnsList lists the lab's namespaces (learner's names), sorted.
func (s *Session) NetnsList() []string {
	var out []string
	for _, e := range s.journal.Live() {
		if e.Kind == KindNetns {
			out = append(out, ShortName(e.Name))
		}
	}
	sort.Strings(out)
	return out
}

// NameVars names, for a shell, what the session holds now: NS_demo=nslab-demo
// for each of its namespaces (the system name, whatever prefix this lab
// has) and PID_web=4242 for each process it started. The commands the lab
// runs get them, as does `nslab shell`, so a command written with
// $NS_demo acts on this lab's demo and no other lab's.
func (s *Session) NameVars() []string {
	var out []string
	for _, e := range s.journal.Live() {
		switch {
		case e.Kind == KindNetns:
			out = append(out, "NS_"+VarName(ShortNameOf(e.Name))+"="+e.Name)
		case e.Kind == KindProc && e.Label != "":
			out = append(out, fmt.Sprintf("PID_%s=%d", VarName(e.Label), e.PID))
		}
	}
	return out
}

// state returns the cached namespace handle and netlink handle for a
// namespace, making them on first use. The netlink handle is created inside
// the namespace through Do and reused for every later call.
func (s *Session) state(name string) (*nsState, error) {
	key, label, path := s.resolveNs(name)
	s.mu.Lock()
	st := s.nss[key]
	s.mu.Unlock()
	if st != nil && (key == "" || sameInode(path, st.ns.ino)) {
		return st, nil
	}
	if st != nil { // deleted (and maybe recreated) behind our back
		s.dropNs(key)
	}
	ns, err := OpenNetnsPath(label, path)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("network namespace %q does not exist (add it with `netns add %s`): %w", label, label, ErrNotFound)
		}
		return nil, err
	}
	var h *netlink.Handle
	err = Do(ns, func() error {
		var err error
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("open netlink in %s: %w", ns, err)
	}
	st = &nsState{ns: ns, nl: h}
	s.mu.Lock()
	if old := s.nss[key]; old != nil { // lost a race: keep the first
		s.mu.Unlock()
		h.Close()
		ns.Close()
		return old, nil
	}
	s.nss[key] = st
	s.mu.Unlock()
	return st, nil
}

// resolveNs maps a name a learner uses for a namespace to a cache key, a
// label and the file to open: "host", a spawned child's name (its network
// namespace, /proc/PID/ns/net), or a lab namespace under /run/netns.
func (s *Session) resolveNs(name string) (key, label, path string) {
	if IsHost(name) {
		return "", "host", "/proc/self/ns/net"
	}
	if p, ok := s.Proc(name); ok {
		return "proc:" + name, name, fmt.Sprintf("/proc/%d/ns/net", p.PID)
	}
	return SysName(name), ShortName(name), filepath.Join(NetnsDir, SysName(name))
}

// mayChange refuses changes inside a lab-named namespace this session did
// not make: another lab's, a dead run's or a look-alike. The host and the
// session's own children are open to changes (host links are checked one
// by one, by mayChangeLink).
func (s *Session) mayChange(ns string) error {
	key, label, _ := s.resolveNs(ns)
	if key == "" || key == "proc:"+ns {
		return nil
	}
	if e, ok := s.owned(KindNetns, "", key); ok {
		if replaced(e) {
			return fmt.Errorf("network namespace %s (%s) is not the one this lab made: it was deleted and made again outside this lab: %w: %s",
				label, key, ErrNotOwned, whoOwns(s.dir, s.id, KindNetns, "", key))
		}
		return nil
	}
	if !netnsExists(key) {
		return fmt.Errorf("network namespace %q does not exist (add it with `netns add %s`): %w", label, label, ErrNotFound)
	}
	return fmt.Errorf("network namespace %s (%s) was not made by this lab: %w: %s",
		label, key, ErrNotOwned, whoOwns(s.dir, s.id, KindNetns, "", key))
}

// mayChangeLink is mayChange for one link: on the host, the link itself
// must be this session's, because the host holds everybody's links.
func (s *Session) mayChangeLink(ns, name string) error {
	if !IsHost(ns) {
		return s.mayChange(ns)
	}
	sys := LinkSysName(ns, name)
	st, err := s.state(ns)
	if err != nil {
		return err
	}
	l, err := st.nl.LinkByName(sys)
	if err != nil {
		return nil // missing: the operation itself says so
	}
	if e, ok := s.owned(KindLink, "", sys); ok {
		if e.Index == 0 || e.Index == l.Attrs().Index {
			return nil
		}
		return fmt.Errorf("link %s (%s) on the host is not the one this lab made (it went, and this one was made outside the lab): %w", name, sys, ErrNotOwned)
	}
	return fmt.Errorf("link %s (%s) on the host was not made by this lab: %w: %s",
		name, sys, ErrNotOwned, whoOwns(s.dir, s.id, KindLink, "", sys))
}

// NetnsOf opens the network namespace a learner's name refers to: "host",
// a lab namespace, or a spawned child. The caller closes it.
func (s *Session) NetnsOf(name string) (*Netns, error) {
	_, label, path := s.resolveNs(name)
	ns, err := OpenNetnsPath(label, path)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("network namespace %q does not exist: %w", label, ErrNotFound)
	}
	return ns, err
}

func sameInode(path string, ino uint64) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Ino == ino
}

func (s *Session) dropNs(sys string) {
	s.mu.Lock()
	st := s.nss[sys]
	delete(s.nss, sys)
	s.mu.Unlock()
	if st != nil {
		st.nl.Close()
		st.ns.Close()
	}
}

// owned finds the live journal entry for a resource.
func (s *Session) owned(kind Kind, netns, name string) (Entry, bool) {
	for _, e := range s.journal.Live() {
		if e.Kind == kind && e.Name == name && (kind != KindLink || e.Netns == netns) {
			return e, true
		}
	}
	return Entry{}, false
}

func (s *Session) checkOpen() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return errors.New("lab session is closed")
	}
	return nil
}

// Close removes everything the session created, newest first, and reports
// every removal that failed. It is safe to call more than once, and from
// several goroutines: a second call (a second Ctrl-C, say, which then exits
// the process) waits until the first has removed everything.
func (s *Session) Close() error {
	s.closeMu.Lock()
	s.closed = true
	s.closeMu.Unlock()
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Session) close() error {
	errs := s.undoAll()
	s.release(len(errs) == 0)
	return errors.Join(errs...)
}

// release closes the session's namespace and netlink handles and its
// journal, removing the journal only if everything it lists is gone.
func (s *Session) release(done bool) {
	s.mu.Lock()
	for sys, st := range s.nss {
		st.nl.Close()
		st.ns.Close()
		delete(s.nss, sys)
	}
	s.mu.Unlock()
	s.host.Close()
	s.journal.close(done)
}

// Reset removes everything the session created, newest first, and keeps
// the session open: a lesson restarted from scratch.
func (s *Session) Reset() error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	return errors.Join(s.undoAll()...)
}

func (s *Session) undoAll() []error {
	var errs []error
	live := s.journal.Live()
	for i := len(live) - 1; i >= 0; i-- {
		if err := s.undo(live[i]); err != nil {
			errs = append(errs, err)
			continue
		}
		s.journal.Done(live[i])
	}
	return errs
}

// undo removes one resource this session recorded.
func (s *Session) undo(e Entry) error {
	switch e.Kind {
	case KindProc:
		s.mu.Lock()
		var gone []string
		for name, p := range s.procs {
			if p.PID == e.PID {
				delete(s.procs, name)
				gone = append(gone, name)
			}
		}
		s.mu.Unlock()
		for _, name := range gone {
			s.dropNs("proc:" + name)
		}
		return killRecorded(e, 5*time.Second)
	case KindLink:
		return s.undoLink(e)
	case KindNetns:
		s.dropNs(e.Name)
		if replaced(e) {
			return nil // ours is gone; the one there now is someone else's
		}
		if err := removeNamedNetns(e.Name); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	case KindFile:
		if err := os.Remove(e.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	case KindDir:
		if _, err := removeRunDir(s.dir, e.Path); err != nil {
			return err
		}
	}
	return nil
}

func (s *Session) undoLink(e Entry) error {
	switch {
	case strings.HasPrefix(e.Netns, "proc:"):
		return nil // goes with the child's namespace
	case e.Netns != "":
		// Links inside lab namespaces are in the session's own: if that
		// went (or was replaced), so did the link.
		ns, ok := s.owned(KindNetns, "", e.Netns)
		if !ok || !netnsExists(e.Netns) || replaced(ns) {
			return nil
		}
	}
	st, err := s.state(nsArg(e.Netns))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	l, err := st.nl.LinkByName(e.Name)
	if err != nil {
		return nil // gone already (a veth dies with its peer's namespace)
	}
	if e.Index != 0 && l.Attrs().Index != e.Index {
		return nil // ours went; this one of the same name is someone else's
	}
	if err := st.nl.LinkDel(l); err != nil && !errors.Is(err, syscall.ENODEV) {
		return fmt.Errorf("delete %s: %w", e, err)
	}
	return nil
}

// nsArg turns a system namespace name from the journal back into a name the
// session methods take.
func nsArg(sys string) string {
	if sys == "" {
		return "host"
	}
	return sys
}
