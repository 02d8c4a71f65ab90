//go:build !linux

package probe

// NamespaceOf needs Linux.
func NamespaceOf(path string) (string, uint64, error) { return "", 0, unsupported() }

// FindHolders needs Linux.
func FindHolders(typ string, ino uint64) (*HolderReport, error) { return nil, unsupported() }

// FindHoldersOf needs Linux.
func FindHoldersOf(typ string, inos []uint64) (map[uint64]*HolderReport, error) {
	return nil, unsupported()
}
