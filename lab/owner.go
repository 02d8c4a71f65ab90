package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// LearnerUID is the uid of the person using the lab, whose runs and
// progress these are: in a sandbox, the user outside it; under sudo, the
// user who ran sudo (SUDO_UID), not root; else this process's.
func LearnerUID() int {
	if info := sandboxInfo(); info != nil {
		return info.UID
	}
	if os.Geteuid() == 0 {
		if uid, err := strconv.Atoi(os.Getenv("SUDO_UID")); err == nil && uid > 0 {
			return uid
		}
	}
	return os.Getuid()
}

// whoOwns explains whose a lab-named resource is when this session did not
// make it, so that a refusal tells the user what to do: another running
// lab (wait for it, or stop it), a dead one (`nslab cleanup`), or nobody
// the journals know (not the lab's to touch). sys is the system name
// (nslab-alpha); netns, for links, the namespace's system name ("" = host).
func whoOwns(dir, self string, kind Kind, netns, sys string) string {
	jfs, _ := ReadJournals(dir)
	for _, jf := range jfs {
		if filepath.Base(jf.Path) == self+".journal" {
			continue
		}
		for _, e := range jf.Live {
			if e.Kind != kind || e.Name != sys || (kind == KindLink && e.Netns != netns) {
				continue
			}
			if jf.Alive {
				return fmt.Sprintf("it belongs to another lab that is running (pid %d, since %s UTC); wait for it to end or stop it",
					jf.Session.PID, jf.Session.Time.Format("15:04:05"))
			}
			return "a lab run that ended without removing it (killed, crashed or --keep) left it behind; `nslab cleanup` removes it"
		}
	}
	return "no lab run recorded it, so nslab will not change it; if it is yours, remove it yourself"
}
