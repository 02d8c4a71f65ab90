// Package units prints figures the way every nslab screen prints them, so
// that a panel and the command output beside it show the same string for
// the same number.
package units

import "strconv"

// Bytes prints a byte count as a learner reads it: 11.2 MB, 512 kB, 80 B
// (powers of 1024, one decimal from MB up).
func Bytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 0, 64) + " kB"
	}
	return strconv.FormatUint(n, 10) + " B"
}
