package lab

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// idMaps are the uid and gid maps of a sandbox's user namespace. An
// unprivileged user may map only its own id (to 0) by writing the map
// itself; a range of further ids, from /etc/subuid and /etc/subgid, goes
// through the setuid helpers newuidmap and newgidmap (helper). With a
// range, ids other than 0 exist inside (nobody's 65534 among them), so a
// lesson can switch to another user.
type idMaps struct {
	uid, gid []syscall.SysProcIDMap
	helper   bool // written by newuidmap/newgidmap after the init starts
}

// rangeSize is how many subordinate ids a sandbox maps, from inside id 1:
// enough for nobody (65534).
const rangeSize = 65536

func singleIDMaps(uid, gid int) idMaps {
	return idMaps{
		uid: []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}},
		gid: []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}},
	}
}

// chooseIDMaps picks the maps for a sandbox of this user: root maps the
// first 65536 ids onto themselves (it may write any map); a user with a
// subordinate range and the helpers installed gets it; else one id.
func chooseIDMaps(uid, gid int) idMaps {
	if uid == 0 {
		one := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: rangeSize}}
		return idMaps{uid: one, gid: one}
	}
	r, err := SubIDRange(uid)
	if err != nil {
		return singleIDMaps(uid, gid)
	}
	return idMaps{
		uid:    []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}, {ContainerID: 1, HostID: r.UIDStart, Size: r.Count}},
		gid:    []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}, {ContainerID: 1, HostID: r.GIDStart, Size: r.Count}},
		helper: true,
	}
}

func (m idMaps) ranged() bool {
	n := 0
	for _, e := range m.uid {
		n += e.Size
	}
	return n > 1
}

// String is the uid map as a person reads it: "0 1000 1, 1 100000 65536".
func (m idMaps) String() string {
	var parts []string
	for _, e := range m.uid {
		parts = append(parts, fmt.Sprintf("%d %d %d", e.ContainerID, e.HostID, e.Size))
	}
	return strings.Join(parts, ", ")
}

// apply writes the maps of process pid with newuidmap and newgidmap.
func (m idMaps) apply(pid int) error {
	for _, h := range []struct {
		tool string
		ms   []syscall.SysProcIDMap
	}{{"newuidmap", m.uid}, {"newgidmap", m.gid}} {
		args := []string{strconv.Itoa(pid)}
		for _, e := range h.ms {
			args = append(args, strconv.Itoa(e.ContainerID), strconv.Itoa(e.HostID), strconv.Itoa(e.Size))
		}
		if out, err := exec.Command(h.tool, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", h.tool, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// SubIDs is a user's subordinate id range, usable by a sandbox.
type SubIDs struct {
	UIDStart, GIDStart, Count int
}

// SubIDRange finds the range /etc/subuid and /etc/subgid give uid, and
// checks that newuidmap and newgidmap are installed. The error says what
// is missing and how to add it.
func SubIDRange(uid int) (SubIDs, error) {
	var r SubIDs
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			return r, fmt.Errorf("%s is not installed (Debian/Ubuntu: apt install uidmap)", tool)
		}
	}
	us, uc, uerr := subRange("/etc/subuid", name, uid)
	gs, gc, gerr := subRange("/etc/subgid", name, uid)
	if uerr != nil || gerr != nil {
		from := freeSubStart()
		return r, fmt.Errorf("%s has no range in /etc/subuid and /etc/subgid (as root, add one no other user has: usermod --add-subuids %d-%d --add-subgids %d-%d %s)",
			name, from, from+rangeSize-1, from, from+rangeSize-1, name)
	}
	r = SubIDs{UIDStart: us, GIDStart: gs, Count: min(uc, gc, rangeSize)}
	return r, nil
}

// subRange reads the first range of a user (by name or uid) in a
// /etc/subuid-style file: name:start:count.
func subRange(file, name string, uid int) (start, count int, err error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(fs) != 3 || (fs[0] != name && fs[0] != strconv.Itoa(uid)) {
			continue
		}
		s, err1 := strconv.Atoi(fs[1])
		c, err2 := strconv.Atoi(fs[2])
		if err1 == nil && err2 == nil && c > 0 {
			return s, c, nil
		}
	}
	return 0, 0, fmt.Errorf("no range for %s in %s", name, file)
}

// userLabel names a uid for a sentence: "nslabt (uid 1001)".
func userLabel(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// freeSubStart is the first id after every range in /etc/subuid and
// /etc/subgid (and at least 100000, useradd's SUB_UID_MIN): where a new
// user's range can start.
func freeSubStart() int {
	next := 100000
	for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fs := strings.Split(strings.TrimSpace(line), ":")
			if len(fs) != 3 {
				continue
			}
			s, err1 := strconv.Atoi(fs[1])
			c, err2 := strconv.Atoi(fs[2])
			if err1 == nil && err2 == nil && s+c > next {
				next = s + c
			}
		}
	}
	return next
}
