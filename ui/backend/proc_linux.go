package backend

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nslab/nslab/ui/panels"
)

// readProc reads one process for the panels: namespaces, threads and the
// net namespace of each, RSS, fds. Until lab/probe is merged this is a
// small stand-in; sockets by namespace need probe (pidfd_getfd + SIOCGSKNS).
func readProc(pid int) panels.Proc {
	p := panels.Proc{PID: pid}
	ns, err := readNS(pid)
	p.NS = ns
	if err != nil {
		p.Err = fmt.Sprintf("namespaces: %v", err)
		return p
	}
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			v = strings.TrimSpace(v)
			switch k {
			case "Name":
				p.Comm = v
			case "Threads":
				p.NumThreads, _ = strconv.Atoi(v)
			case "VmRSS":
				p.RSS = kb(v)
			case "VmHWM":
				p.HWM = kb(v)
			}
		}
		f.Close()
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid)); err == nil {
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			ino, _ := nsInode(fmt.Sprintf("/proc/%d/task/%d/ns/net", pid, tid))
			p.Threads = append(p.Threads, panels.Thread{TID: tid, NetNS: ino})
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		p.FDs = len(ents)
	}
	return p
}

func kb(v string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSuffix(v, " kB"), 10, 64)
	return n << 10
}
