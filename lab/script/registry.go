package script

// registry is the language, in the order `help` lists it.
var registry []*Command

func init() {
	registry = []*Command{
		cmdNetnsAdd, cmdNetnsDel, cmdNetnsList,
		cmdLinkAdd, cmdLinkSet, cmdLinkDel, cmdLinkShow,
		cmdAddrAdd, cmdRouteAdd, cmdPing,
		cmdSpawn, cmdKill, cmdIDMap, cmdExec, cmdWatch, cmdHolders,
		cmdListen, cmdConnect, cmdClose,
		cmdProxyStart, cmdProxyAdd, cmdProxyDel, cmdProxyStats, cmdProxyStop, cmdCompare,
		cmdExpect, cmdHelp,
	}
	// What only the lab can do: its effect lives in the lab's own process
	// (a socket it holds, a child or proxy it started and tracks), so a
	// second terminal cannot do it for a hands-on step, only the lab's
	// prompt can.
	for _, c := range []*Command{cmdListen, cmdClose, cmdSpawn, cmdKill, cmdWatch, cmdHolders, cmdHelp,
		cmdProxyStart, cmdProxyAdd, cmdProxyDel, cmdProxyStats, cmdProxyStop} {
		c.LabOnly = true
	}
}
