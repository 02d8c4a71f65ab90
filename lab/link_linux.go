package lab

import (
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/vishvananda/netlink"
)

// retryDump retries a netlink dump the kernel interrupted because the table
// changed under it (netlink.ErrDumpInterrupted): the partial result is not
// trustworthy.
func retryDump[T any](f func() (T, error)) (T, error) {
	var v T
	var err error
	for range 8 {
		if v, err = f(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

// changeableLink finds link name in ns for an operation that changes it,
// once the session has checked that it may (mayChangeLink).
func (s *Session) changeableLink(ns, name string) (*nsState, netlink.Link, error) {
	if err := s.mayChangeLink(ns, name); err != nil {
		return nil, nil, err
	}
	st, err := s.state(ns)
	if err != nil {
		return nil, nil, err
	}
	sys := LinkSysName(ns, name)
	l, err := st.nl.LinkByName(sys)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return st, nil, fmt.Errorf("link %s in %s: %w (%s)", name, nsLabel(ns), ErrNotFound, s.listLinksHint(ns, sys))
		}
		return st, nil, fmt.Errorf("find link %s in %s: %w", name, nsLabel(ns), errnoKind(err))
	}
	return st, l, nil
}

func nsLabel(ns string) string {
	if IsHost(ns) {
		return "host"
	}
	return ShortName(ns)
}

// listLinksHint says where to look for a link that is not there. On the
// host the lab works on its own links only, which carry the prefix: "eth0"
// there means nslab-eth0, never the machine's own eth0.
func (s *Session) listLinksHint(ns, sys string) string {
	if IsHost(ns) {
		return fmt.Sprintf("on the host the lab changes only its own links, named %s; list them with `ip link`", sys)
	}
	if p, ok := s.Proc(ns); ok {
		return fmt.Sprintf("list them with `link show -n %s`, or `nsenter -t %d -n ip link`", ns, p.PID)
	}
	return fmt.Sprintf("list them with `ip -n %s link`", SysName(ns))
}

// newLinkIn checks that the session may change ns and that no link called
// name is there yet, and returns the state of ns to make it in.
func (s *Session) newLinkIn(ns, name string) (*nsState, error) {
	if err := s.mayChange(ns); err != nil {
		return nil, err
	}
	st, err := s.state(ns)
	if err != nil {
		return nil, err
	}
	sys := LinkSysName(ns, name)
	if _, err := st.nl.LinkByName(sys); err == nil {
		if _, mine := s.owned(KindLink, s.nsKey(ns), sys); mine || !IsHost(ns) {
			return nil, fmt.Errorf("link %s already exists in %s: %w", name, nsLabel(ns), ErrExists)
		}
		return nil, fmt.Errorf("link %s (%s) on the host: %w: %s; or pick another name",
			name, sys, ErrExists, whoOwns(s.dir, s.id, KindLink, "", sys))
	}
	return st, nil
}

// AddVeth creates a veth pair: name in namespace ns, peer in peerNS ("" or
// "host" for the host).
func (s *Session) AddVeth(name, ns, peer, peerNS string) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ValidateLinkName(name, IsHost(ns)); err != nil {
		return err
	}
	if err := ValidateLinkName(peer, IsHost(peerNS)); err != nil {
		return err
	}
	if name == peer && nsLabel(ns) == nsLabel(peerNS) {
		return fmt.Errorf("veth %s: both ends have the same name: %w", name, ErrInvalid)
	}
	st, err := s.newLinkIn(ns, name)
	if err != nil {
		return err
	}
	pst, err := s.newLinkIn(peerNS, peer)
	if err != nil {
		return err
	}
	a := Entry{Kind: KindLink, Name: LinkSysName(ns, name), Netns: s.nsKey(ns)}
	b := Entry{Kind: KindLink, Name: LinkSysName(peerNS, peer), Netns: s.nsKey(peerNS)}
	if err := s.journal.Add(a); err != nil {
		return err
	}
	if err := s.journal.Add(b); err != nil {
		s.journal.Done(a)
		return err
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a.Name}, PeerName: b.Name}
	if !st.ns.Equal(pst.ns) {
		veth.PeerNamespace = netlink.NsFd(pst.ns.Fd())
	}
	if err := st.nl.LinkAdd(veth); err != nil {
		s.journal.Done(b)
		s.journal.Done(a)
		return fmt.Errorf("add veth %s peer %s: %w", name, peer, errnoKind(err))
	}
	s.identifyLink(st, a)
	s.identifyLink(pst, b)
	return nil
}

// identifyLink records the ifindex of a host link the session just made, so
// that a link someone else makes later under the same name is never taken
// for it. Links inside lab namespaces need none: the namespace is the
// session's, and its inode is recorded.
func (s *Session) identifyLink(st *nsState, e Entry) {
	if e.Netns != "" {
		return
	}
	if l, err := st.nl.LinkByName(e.Name); err == nil {
		s.journal.Identify(Entry{Kind: KindLink, Name: e.Name, Index: l.Attrs().Index})
	}
}

// AddBridge creates a bridge in namespace ns.
func (s *Session) AddBridge(name, ns string) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	if err := ValidateLinkName(name, IsHost(ns)); err != nil {
		return err
	}
	st, err := s.newLinkIn(ns, name)
	if err != nil {
		return err
	}
	e := Entry{Kind: KindLink, Name: LinkSysName(ns, name), Netns: s.nsKey(ns)}
	if err := s.journal.Add(e); err != nil {
		return err
	}
	if err := st.nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: e.Name}}); err != nil {
		s.journal.Done(e)
		return fmt.Errorf("add bridge %s: %w", name, errnoKind(err))
	}
	s.identifyLink(st, e)
	return nil
}

// DelLink deletes a link the session created (a veth takes its peer with it).
func (s *Session) DelLink(name, ns string) error {
	e, ok := s.owned(KindLink, s.nsKey(ns), LinkSysName(ns, name))
	if !ok {
		return fmt.Errorf("link %s in %s: not made by this lab session: %w", name, nsLabel(ns), ErrNotOwned)
	}
	st, l, err := s.changeableLink(ns, name)
	if err != nil {
		return err
	}
	if err := st.nl.LinkDel(l); err != nil {
		return fmt.Errorf("delete link %s: %w", name, errnoKind(err))
	}
	s.journal.Done(e)
	if v, ok := l.(*netlink.Veth); ok { // the peer went too
		for _, o := range s.journal.Live() {
			if o.Kind == KindLink && o.Name == v.PeerName {
				if _, err := s.linkIndexIn(o.Netns, o.Name); err != nil {
					s.journal.Done(o)
				}
			}
		}
	}
	return nil
}

func (s *Session) linkIndexIn(nsSysName, sysName string) (int, error) {
	st, err := s.state(nsArg(nsSysName))
	if err != nil {
		return 0, err
	}
	l, err := st.nl.LinkByName(sysName)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

// SetLinkUp brings a link up or down, like `ip link set NAME up`.
func (s *Session) SetLinkUp(name, ns string, up bool) error {
	st, l, err := s.changeableLink(ns, name)
	if err != nil {
		return err
	}
	if up {
		err = st.nl.LinkSetUp(l)
	} else {
		err = st.nl.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("set link %s %s: %w", name, map[bool]string{true: "up", false: "down"}[up], errnoKind(err))
	}
	return nil
}

// SetMaster enslaves a link to a bridge in the same namespace.
func (s *Session) SetMaster(name, master, ns string) error {
	st, l, err := s.changeableLink(ns, name)
	if err != nil {
		return err
	}
	_, br, err := s.changeableLink(ns, master)
	if err != nil {
		return err
	}
	if _, ok := br.(*netlink.Bridge); !ok {
		return fmt.Errorf("set %s master %s: %s is a %s, not a bridge: %w", name, master, master, br.Type(), ErrInvalid)
	}
	if err := st.nl.LinkSetMasterByIndex(l, br.Attrs().Index); err != nil {
		return fmt.Errorf("set %s master %s: %w", name, master, errnoKind(err))
	}
	return nil
}

// MoveLink moves a link from namespace ns into to (a named lab namespace,
// the host, or a spawned child's namespace opened by PID), like
// `ip link set NAME netns TARGET`. Moving into the host adds the lab prefix
// and moving out of it drops the prefix; a link must be down to be renamed,
// so a link that needs renaming is set down first.
func (s *Session) MoveLink(name, ns string, to *Netns, toName string) error {
	if err := s.mayChange(toName); err != nil {
		return err
	}
	st, l, err := s.changeableLink(ns, name)
	if err != nil {
		return err
	}
	old, ok := s.owned(KindLink, s.nsKey(ns), LinkSysName(ns, name))
	if !ok {
		return fmt.Errorf("move link %s: %w", name, ErrNotOwned)
	}
	if st.ns.Equal(to) {
		return nil
	}
	newSys := LinkSysName(toName, ShortName(name))
	if err := ValidateLinkName(ShortName(name), IsHost(toName)); err != nil {
		return err
	}
	// Links in a spawned child's namespace are journaled too (proc:NAME);
	// they go with the child, so undoing them is a no-op.
	moved := Entry{Kind: KindLink, Name: newSys, Netns: s.nsKey(toName)}
	if err := s.journal.Add(moved); err != nil {
		return err
	}
	if err := st.nl.LinkSetNsFd(l, to.Fd()); err != nil {
		s.journal.Done(moved)
		return fmt.Errorf("move link %s to %s: %w", name, toName, errnoKind(err))
	}
	s.journal.Done(old)
	if newSys == l.Attrs().Name {
		return nil
	}
	tst, err := s.state(toName)
	if err != nil {
		return err
	}
	nl, err := tst.nl.LinkByName(l.Attrs().Name)
	if err != nil {
		return fmt.Errorf("find moved link %s: %w", name, err)
	}
	// A link can be renamed only while down; it arrives down anyway.
	if err := tst.nl.LinkSetName(nl, newSys); err != nil {
		return fmt.Errorf("rename moved link %s to %s: %w", l.Attrs().Name, newSys, errnoKind(err))
	}
	return nil
}

// nsKey is the journal's name for a namespace: "" for the host, nslab-NAME
// for a lab namespace, proc:NAME for a spawned child's.
func (s *Session) nsKey(ns string) string {
	key, _, _ := s.resolveNs(ns)
	return key
}

// LinkInfo describes one interface, as `ip -br addr` would.
type LinkInfo struct {
	Name     string   // learner's name (prefix dropped on the host)
	Type     string   // veth, bridge, loopback, ...
	Up       bool     // administratively up
	Carrier  bool     // operationally up
	Master   string   // bridge it belongs to
	Addrs    []string // CIDRs
	PeerName string   // for veth: the peer's system name (when known)
	Index    int
	PeerIdx  int // for veth: the peer's ifindex, in its own namespace
}

// Links lists the interfaces of a namespace, sorted by index.
func (s *Session) Links(ns string) ([]LinkInfo, error) {
	st, err := s.state(ns)
	if err != nil {
		return nil, err
	}
	links, err := retryDump(st.nl.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links in %s: %w", nsLabel(ns), err)
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return st.nl.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("list addresses in %s: %w", nsLabel(ns), err)
	}
	byIndex := map[int]string{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	out := make([]LinkInfo, 0, len(links))
	for _, l := range links {
		a := l.Attrs()
		li := LinkInfo{Name: a.Name, Type: l.Type(), Up: a.Flags&net.FlagUp != 0, Carrier: a.OperState == netlink.OperUp || a.OperState == netlink.OperUnknown && a.Flags&net.FlagUp != 0, Index: a.Index}
		if IsHost(ns) {
			li.Name = ShortName(a.Name)
		}
		if a.MasterIndex != 0 {
			li.Master = byIndex[a.MasterIndex]
			if IsHost(ns) {
				li.Master = ShortName(li.Master)
			}
		}
		if v, ok := l.(*netlink.Veth); ok {
			li.PeerName = v.PeerName
			li.PeerIdx = a.ParentIndex
		}
		for _, ad := range addrs {
			if ad.LinkIndex == a.Index {
				li.Addrs = append(li.Addrs, ad.IPNet.String())
			}
		}
		out = append(out, li)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}
