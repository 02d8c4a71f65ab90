package panels

import (
	"fmt"
	"time"
)

// Sample returns a fixed, realistic snapshot for tests, benchmarks and
// screenshots: the lab process itself, a shared-strategy proxy holding
// sockets sockets spread over namespaces, a thread-per-namespace proxy, and
// a child in new namespaces; two namespaces joined by a veth pair and a
// bridge on the host.
func Sample(sockets int) *Snapshot {
	const (
		hostNet = 4026531840
		hostUTS = 4026531838
		hostPID = 4026531836
		hostMnt = 4026531841
		hostIPC = 4026531839
		hostUsr = 4026531837
		hostCg  = 4026531835
		hostTim = 4026531834
	)
	host := map[string]uint64{"net": hostNet, "uts": hostUTS, "pid": hostPID, "mnt": hostMnt, "ipc": hostIPC, "user": hostUsr, "cgroup": hostCg, "time": hostTim, "pid_for_children": hostPID, "time_for_children": hostTim}
	s := &Snapshot{
		Taken: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		Init:  host,
		Names: map[NSKey]string{},
	}
	for t, ino := range host {
		s.Names[NSKey{t, ino}] = "host"
	}
	nsCount := max(1, sockets/2)
	for i := 0; i < nsCount; i++ {
		s.Names[NSKey{"net", uint64(4026532000 + i)}] = fmt.Sprintf("nslab-t%d", i)
	}
	s.Names[NSKey{"net", 4026532900}] = "nslab-alpha"
	s.Names[NSKey{"net", 4026532901}] = "nslab-beta"
	s.Names[NSKey{"uts", 4026532902}] = "pid 4300"
	s.Names[NSKey{"pid", 4026532903}] = "pid 4300"
	s.Names[NSKey{"net", 4026532904}] = "pid 4300"

	self := Proc{Label: "self", PID: 4242, Comm: "nslab", NS: copyNS(host), NumThreads: 6, RSS: 14 << 20, HWM: 16 << 20, FDs: 12}
	for i := 0; i < 6; i++ {
		self.Threads = append(self.Threads, Thread{TID: 4242 + i, Comm: "nslab", NetNS: hostNet})
	}
	proxy := Proc{Label: "shared", PID: 4250, Comm: "nslab", NS: copyNS(host), NumThreads: 7, RSS: 11 << 20, HWM: 12 << 20, FDs: sockets + 5}
	for i := 0; i < 7; i++ {
		proxy.Threads = append(proxy.Threads, Thread{TID: 4250 + i, Comm: "nslab", NetNS: hostNet})
	}
	for i := 0; i < sockets; i++ {
		proto := "tcp"
		if i%2 == 1 {
			proto = "udp"
		}
		proxy.Sockets = append(proxy.Sockets, Socket{FD: 5 + i, NetNS: uint64(4026532000 + (i/2)%nsCount), Proto: proto, Local: "10.0.0.1:80"})
	}
	tpn := Proc{Label: "per-ns", PID: 4260, Comm: "nslab", NS: copyNS(host), NumThreads: 106, RSS: 29 << 20, HWM: 30 << 20, FDs: 205}
	child := Proc{Label: "c1", PID: 4300, Comm: "sh", NS: copyNS(host), NumThreads: 1, RSS: 1 << 20, FDs: 3}
	child.NS["uts"], child.NS["pid"], child.NS["net"], child.NS["pid_for_children"] = 4026532902, 4026532903, 4026532904, 4026532903
	child.Threads = []Thread{{TID: 4300, Comm: "sh", NetNS: 4026532904}}
	s.Procs = []Proc{self, proxy, tpn, child}

	s.Topology = []Netns{
		{Name: "host", Links: []Link{
			{Name: "lo", Type: "device", Up: true, Addrs: []string{"127.0.0.1/8"}, Index: 1},
			{Name: "br0", Type: "bridge", Up: true, Addrs: []string{"10.0.9.1/24"}, Index: 40},
			{Name: "vc", Type: "veth", Up: true, Master: "br0", Index: 41, PeerIdx: 2},
		}},
		{Name: "alpha", Links: []Link{
			{Name: "lo", Type: "device", Up: false, Index: 1},
			{Name: "va", Type: "veth", Up: true, Addrs: []string{"10.0.0.1/24"}, Index: 2, PeerIdx: 3},
		}},
		{Name: "beta", Links: []Link{
			{Name: "lo", Type: "device", Up: false, Index: 1},
			{Name: "vb", Type: "veth", Up: true, Addrs: []string{"10.0.0.2/24"}, Index: 3, PeerIdx: 2},
			{Name: "vd", Type: "veth", Up: true, Addrs: []string{"10.0.9.2/24"}, Index: 2, PeerIdx: 41},
		}},
	}
	PairVeths(s.Topology)
	return s
}

func copyNS(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
