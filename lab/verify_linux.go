package lab

import (
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// StillThere returns the resources among es that still exist on the system.
// Tests use it to prove a cleanup path left nothing behind.
func StillThere(es []Entry) []string {
	var out []string
	for _, e := range es {
		switch e.Kind {
		case KindNetns:
			if netnsExists(e.Name) {
				out = append(out, e.String())
			}
		case KindProc:
			if st, err := procStartTime(e.PID); err == nil && st == e.Start && !procZombie(e.PID) {
				out = append(out, e.String())
			}
		case KindLink:
			if e.Netns == "" {
				if h, err := netlink.NewHandle(unix.NETLINK_ROUTE); err == nil {
					if _, err := h.LinkByName(e.Name); err == nil {
						out = append(out, e.String())
					}
					h.Close()
				}
			} else if netnsExists(e.Netns) {
				out = append(out, e.String()+" (its namespace is still there)")
			}
		}
	}
	return out
}
