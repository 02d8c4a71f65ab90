// Command nslab-proxy is the proxy worker on its own: the entry point that
// `nslab` (and the lab) start for a proxy daemon when this binary sits next
// to it. It links only the engine and the proxy, not the TUI, whose
// libraries' package init alone allocates 6 MB and takes ~40 ms (measured
// with GODEBUG=inittrace=1); every worker and process-per-namespace child
// would pay that before binding anything.
package main

import (
	"fmt"
	"os"

	"github.com/nslab/nslab/lab"
	_ "github.com/nslab/nslab/lab/proxy" // registers the proxy-worker entry point
)

// Unlike cmd/nslab, the main goroutine is not locked to the main thread:
// the worker would pay a whole thread, parked, for it. The namespace
// switch keeps itself off the main thread instead (lab.GoLocked).

func main() {
	lab.Init() // a worker runs here and never returns
	fmt.Fprintln(os.Stderr, "nslab-proxy: started by nslab as a proxy worker only; run `nslab proxy` instead")
	os.Exit(2)
}
