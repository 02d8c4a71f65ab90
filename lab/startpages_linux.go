package lab

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// dropStartupPages unmaps from this process the pages of its own
// executable's code and read-only data that it has touched so far, so that
// its RSS counts only what it uses from here on. The pages stay in the page
// cache, shared with every other process of the binary, and come back on
// the next access (a minor fault).
//
// Why: a re-executed child (a proxy worker, a spawned lesson child) is the
// whole nslab binary, and before main every package's init runs, each
// touching its own code and data; the kernel maps up to 64 KiB around each
// fault. Measured 2026-12-04 (docs/benchmarks.md, "Start-up"): an idle
// worker held 11.2 MiB RSS, 9 MiB of it the binary's code and read-only
// data, and `shared` with 1000 tenants × (TCP+UDP) was 17.2 MiB, over its
// 16 MiB goal; with the drop, 8.8 and 15.2 MiB. The panels and `expect
// rss` show a child's RSS, so it should be the child's own.
//
// Only read-only mappings are touched: MADV_DONTNEED on a written private
// page (.data, .bss, the heap) would throw its contents away.
func dropStartupPages() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00b14000 r-xp 00000000 fd:01 1234   /usr/local/bin/nslab
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// A raw syscall: unix.Madvise takes a []byte, which would need
		// unsafe to make from an address.
		unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_DONTNEED)
	}
}
