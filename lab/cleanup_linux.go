package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// CleanupReport says what Cleanup did and what it left alone.
type CleanupReport struct {
	Removed   []string // resources removed, from dead sessions' journals
	Gone      []string // journaled resources that no longer existed, or are someone else's now (with why)
	Live      []string // journals of sessions still running (untouched)
	Foreign   []string // nslab-* resources no journal records: not ours, left alone
	Failed    []string // removals that failed, with why
	Journals  int      // dead sessions' journals processed
	StrayInit []string // nslab-init children of dead sessions, killed
}

// Empty reports whether there was nothing to clean.
func (r CleanupReport) Empty() bool {
	return len(r.Removed)+len(r.Gone)+len(r.Failed)+len(r.StrayInit) == 0 && r.Journals == 0
}

// Cleanup removes what dead lab sessions left behind (a run killed with
// kill -9, a crash), using their journals under dir: spawned processes,
// links and namespaces, newest first. Sessions still running are left alone
// (their journal is locked), and so is every nslab-* resource that no journal
// records: the lab removes only what it made.
func Cleanup(dir string) (CleanupReport, error) { return CleanupFor(dir, -1) }

// CleanupFor is Cleanup of the dead sessions of one learner (uid, see
// LearnerUID; -1 for everyone's): what a lab's start-up offers, since a
// learner's "yes" covers their own runs only.
func CleanupFor(dir string, uid int) (CleanupReport, error) {
	var rep CleanupReport
	if err := CheckPrivileges(); err != nil {
		return rep, err
	}
	jfs, err := ReadJournals(dir)
	if err != nil {
		return rep, err
	}
	// What running labs hold now is theirs, even where a dead run's journal
	// names it too: the dead run's went, and a running lab made it again.
	liveNetns, liveLinks := LiveOwned(dir)
	for _, jf := range jfs {
		if jf.Alive {
			rep.Live = append(rep.Live, fmt.Sprintf("%s (pid %d, still running)", filepath.Base(jf.Path), jf.Session.PID))
			continue
		}
		if uid >= 0 && jf.Session.UID != uid {
			continue
		}
		rep.Journals++
		ok := true
		netns := map[string]Entry{} // the dead run's own namespaces
		for _, e := range jf.Live {
			if e.Kind == KindNetns {
				netns[e.Name] = e
			}
		}
		for i := len(jf.Live) - 1; i >= 0; i-- {
			e := jf.Live[i]
			if why := notTheRuns(e, netns, liveNetns, liveLinks); why != "" {
				rep.Gone = append(rep.Gone, e.String()+" ("+why+")")
				continue
			}
			existed, err := undoEntry(dir, e)
			switch {
			case err != nil:
				ok = false
				rep.Failed = append(rep.Failed, fmt.Sprintf("%s: %v", e, err))
			case existed:
				rep.Removed = append(rep.Removed, e.String())
			default:
				rep.Gone = append(rep.Gone, e.String())
			}
		}
		rep.StrayInit = append(rep.StrayInit, killStrayInits(jf.Session.PID)...)
		if ok && jf.Err == nil {
			os.Remove(jf.Path)
		}
	}
	netnsOwned, linksOwned, _ := OwnedNames(dir)
	rep.Foreign = foreignResources(netnsOwned, linksOwned)
	return rep, nil
}

// notTheRuns says why what a dead run's journal entry names is not that
// run's now, or "" if it is (or may be). The identity the run recorded
// decides where there is one: a namespace with another inode, a host link
// with another ifindex, was made by someone else after the run's went.
// Without one, a name that a running lab holds is the running lab's. A link
// inside a namespace is the run's only while that namespace is. Such
// resources are left alone.
func notTheRuns(e Entry, netns map[string]Entry, liveNetns, liveLinks map[string]bool) string {
	const (
		remade = "gone; the one of that name now is not this run's: left alone"
		taken  = "gone; a running lab holds that name now: left alone"
	)
	switch e.Kind {
	case KindNetns:
		switch {
		case !netnsExists(e.Name):
			if liveNetns[e.Name] {
				return taken // a running lab is making it: not a stale file
			}
		case e.Ino != 0:
			if replaced(e) {
				return remade
			}
		case liveNetns[e.Name]:
			return taken
		}
	case KindLink:
		switch {
		case e.Netns == "":
			l, err := netlink.LinkByName(e.Name)
			switch {
			case err != nil:
			case e.Index != 0:
				if l.Attrs().Index != e.Index {
					return remade
				}
			case liveLinks[e.Name]:
				return taken
			}
		case strings.HasPrefix(e.Netns, "proc:"):
		default:
			ns, ok := netns[e.Netns]
			if !ok {
				return "its namespace " + e.Netns + " is not this run's: left alone"
			}
			if notTheRuns(ns, nil, liveNetns, liveLinks) != "" {
				return "went with this run's namespace " + e.Netns
			}
		}
	}
	return ""
}

// undoEntry removes one journaled resource without a session (dir is the
// run directory its journal was read from). It reports whether the
// resource still existed.
func undoEntry(dir string, e Entry) (bool, error) {
	switch e.Kind {
	case KindProc:
		st, err := procStartTime(e.PID)
		if err != nil || st != e.Start {
			return false, nil
		}
		return true, killRecorded(e, 5*time.Second)
	case KindNetns:
		if !netnsExists(e.Name) {
			// A file left by a crash between create and mount.
			if err := os.Remove(filepath.Join(NetnsDir, e.Name)); err == nil {
				return true, nil
			}
			return false, nil
		}
		return true, removeNamedNetns(e.Name)
	case KindLink:
		return undoLinkEntry(e)
	case KindFile:
		err := os.Remove(e.Path)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if errors.Is(err, syscall.ENOTEMPTY) {
			// A directory journaled as a file (by nslab before KindDir):
			// removed whole only under the run directory.
			return removeRunDir(dir, e.Path)
		}
		return err == nil, err
	case KindDir:
		return removeRunDir(dir, e.Path)
	}
	return false, fmt.Errorf("unknown journal entry kind %q", e.Kind)
}

func undoLinkEntry(e Entry) (bool, error) {
	var ns *Netns
	switch {
	case e.Netns == "":
		// ns stays nil: the current (host) namespace.
	case strings.HasPrefix(e.Netns, "proc:"):
		return false, nil // went with its process
	default:
		if !netnsExists(e.Netns) {
			return false, nil // went with its namespace
		}
		var err error
		if ns, err = OpenNetns(e.Netns); err != nil {
			return false, nil
		}
		defer ns.Close()
	}
	existed := false
	err := Do(ns, func() error {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer h.Close()
		l, err := h.LinkByName(e.Name)
		if err != nil {
			return nil
		}
		existed = true
		return h.LinkDel(l)
	})
	return existed, err
}

// killStrayInits kills nslab-init children of a dead session that its
// journal missed (a crash between fork and journal write). They are found by
// their argv[0] and their process group, which Spawn made their own.
func killStrayInits(sessionPID int) []string {
	var out []string
	if sessionPID == 0 {
		return nil
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscan(d.Name(), &pid); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !strings.HasPrefix(string(cmdline), "nslab-init:") {
			continue
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if !strings.Contains(string(env), fmt.Sprintf("NSLAB_PARENT=%d\x00", sessionPID)) {
			continue
		}
		if procPPID(pid) == sessionPID {
			// Its parent is alive: a lab running now under the dead
			// session's reused PID. A dead session's child is an orphan.
			continue
		}
		start, err := procStartTime(pid)
		if err != nil {
			continue
		}
		name := strings.TrimPrefix(strings.SplitN(string(cmdline), "\x00", 2)[0], "nslab-init:")
		if killRecorded(Entry{Kind: KindProc, PID: pid, Start: start}, 2*time.Second) == nil {
			out = append(out, fmt.Sprintf("process %s (pid %d)", name, pid))
		}
	}
	return out
}

// foreignResources lists nslab-* namespaces and host links that no journal
// records.
func foreignResources(netnsOwned, linksOwned map[string]bool) []string {
	var out []string
	entries, _ := os.ReadDir(NetnsDir)
	for _, d := range entries {
		if IsLabName(d.Name()) && !netnsOwned[d.Name()] {
			out = append(out, "netns "+d.Name())
		}
	}
	if links, err := retryDump(netlink.LinkList); err == nil {
		for _, l := range links {
			n := l.Attrs().Name
			if IsLabName(n) && !linksOwned[n] {
				out = append(out, "link "+n)
			}
		}
	}
	sort.Strings(out)
	return out
}
