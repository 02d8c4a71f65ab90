package panels

import (
	"fmt"
	"time"
)

// Sample returns a fixed, realistic snapshot for tests, benchmarks and
// screenshots: the lab process itself, a shared-strategy proxy holding
// sockets sockets spread over namespaces, a thread-per-namespace proxy, a
// process-per-namespace proxy with 100 children, and a child in new
// namespaces; two namespaces joined by a veth pair and a
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
	s.Names[NSKey{"pid_for_children", 4026532903}] = "pid 4300"
	s.Names[NSKey{"net", 4026532904}] = "pid 4300"

	self := Proc{Label: "self", PID: 4242, Comm: "nslab", NS: copyNS(host), NumThreads: 6, RSS: 14 << 20, HWM: 16 << 20, FDs: 12}
	for i := 0; i < 6; i++ {
		self.Threads = append(self.Threads, Thread{TID: 4242 + i, Comm: "nslab", NetNS: hostNet})
	}
	self.Tree = &Tree{Total: Usage{Processes: 1, Threads: 6, FDs: 12, RSS: 14 << 20, PSS: 9 << 20}}
	self.Tree.Parent = self.Tree.Total
	proxy := Proc{Label: "shared", Kind: "shared", PID: 4250, Comm: "nslab", NS: copyNS(host), NumThreads: 7, RSS: 11 << 20, HWM: 12 << 20, FDs: sockets + 5}
	proxy.Tree = &Tree{Total: Usage{Processes: 1, Threads: 7, FDs: sockets + 5, RSS: 11 << 20, PSS: 6 << 20}}
	proxy.Tree.Parent = proxy.Tree.Total
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
	tpn := Proc{Label: "per-ns", Kind: "thread-per-namespace", PID: 4260, Comm: "nslab", NS: copyNS(host), NumThreads: 106, RSS: 29 << 20, HWM: 30 << 20, FDs: 205}
	tpn.Tree = &Tree{Total: Usage{Processes: 1, Threads: 106, FDs: 205, RSS: 29 << 20, PSS: 21 << 20}}
	tpn.Tree.Parent = tpn.Tree.Total
	// One process per namespace: a parent and 100 children, each a Go
	// program of its own.
	ppn := Proc{Label: "per-proc", Kind: "process-per-namespace", PID: 4270, Comm: "nslab", NS: copyNS(host), NumThreads: 7, RSS: 12 << 20, HWM: 13 << 20, FDs: 312}
	ppn.Tree = &Tree{
		Total:  Usage{Processes: 101, Threads: 707, FDs: 1012, RSS: 1180 << 20, PSS: 462 << 20},
		Parent: Usage{Processes: 1, Threads: 7, FDs: 312, RSS: 12 << 20, PSS: 5 << 20},
	}
	child := Proc{Label: "c1", PID: 4300, Comm: "sh", NS: copyNS(host), NumThreads: 1, RSS: 1 << 20, FDs: 3}
	child.NS["uts"], child.NS["pid"], child.NS["net"], child.NS["pid_for_children"] = 4026532902, 4026532903, 4026532904, 4026532903
	child.Threads = []Thread{{TID: 4300, Comm: "sh", NetNS: 4026532904}}
	child.Tree = &Tree{Total: Usage{Processes: 1, Threads: 1, FDs: 3, RSS: 1 << 20, PSS: 400 << 10}}
	child.Tree.Parent = child.Tree.Total
	s.Procs = []Proc{self, proxy, tpn, ppn, child}

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

// SampleComparison is the end of the thread-savings lesson, as the panels
// see it: the lab itself and three proxies, shared and thread-per-namespace
// at 300 tenants, process-per-namespace at 50 (51 processes), each with its
// tree; 300 tenant namespaces; and the results table.
func SampleComparison() *Snapshot {
	s := Sample(0)
	self, tss, tst, tsp := s.Procs[0], s.Procs[1], s.Procs[2], s.Procs[3]
	tree := func(p *Proc, total, parent Usage) {
		p.Tree = &Tree{Total: total, Parent: parent}
		p.NumThreads, p.RSS, p.FDs = parent.Threads, parent.RSS, parent.FDs
	}
	self.Label = "self"
	tss.Label, tss.Kind, tss.PID = "tss", "shared", 5944
	tst.Label, tst.Kind, tst.PID = "tst", "thread-per-namespace", 5952
	tsp.Label, tsp.Kind, tsp.PID = "tsp", "process-per-namespace", 5982
	tree(&tss, Usage{1, 7, 615, 9 << 20, 3482 << 10}, Usage{1, 7, 615, 9 << 20, 3482 << 10})
	tree(&tst, Usage{1, 308, 614, 17 << 20, 10547 << 10}, Usage{1, 308, 614, 17 << 20, 10547 << 10})
	tree(&tsp, Usage{51, 379, 962, 454 << 20, 115 << 20}, Usage{1, 7, 212, 12 << 20, 4 << 20})
	tss.Sockets, tst.Sockets, tsp.Sockets = nil, nil, nil
	for i := 0; i < 300; i++ {
		ns := uint64(4026533000 + i)
		s.Names[NSKey{"net", ns}] = fmt.Sprintf("nslab-ts%d", i+1)
		tss.Sockets = append(tss.Sockets, Socket{FD: 10 + i, NetNS: ns, Proto: "tcp", Local: "127.0.0.1:80"})
		tst.Sockets = append(tst.Sockets, Socket{FD: 10 + i, NetNS: ns, Proto: "tcp", Local: "127.0.0.1:81"})
		self.Sockets = append(self.Sockets, Socket{FD: 20 + i, NetNS: ns, Proto: "netlink"})
	}
	self.Sockets = append(self.Sockets, Socket{FD: 9, NetNS: s.Init["net"], Proto: "tcp", Local: "127.0.0.1:7402"})
	s.Procs = []Proc{self, tsp, tss, tst}
	s.Topology = []Netns{{Name: "host"}}
	for i := 1; i <= 300; i++ {
		up := i == 1
		l := Link{Name: "lo", Type: "device", Up: up, Index: 1}
		if up {
			l.Addrs = []string{"127.0.0.1/8", "::1/128", "fe80::1/64"}
		}
		s.Topology = append(s.Topology, Netns{Name: fmt.Sprintf("ts%d", i), Links: []Link{l}})
	}
	s.Results = &Results{Command: "compare tss tst tsp", Taken: s.Taken, Rows: []ResultRow{
		{Name: "tss", Strategy: "shared", Tenants: 300, Processes: 1, Threads: 7, PSS: 3482 << 10, FDs: 615, Bind: 65 * time.Millisecond},
		{Name: "tst", Strategy: "thread-per-namespace", Tenants: 300, Processes: 1, Threads: 308, PSS: 10547 << 10, FDs: 614, Bind: 293 * time.Millisecond},
		{Name: "tsp", Strategy: "process-per-namespace", Tenants: 50, Processes: 51, Threads: 379, PSS: 115 << 20, FDs: 962, Bind: 2540 * time.Millisecond},
	}}
	return s
}
