package script

// registry is the language, in the order `help` lists it.
var registry []*Command

func init() {
	registry = []*Command{
		cmdNetnsAdd, cmdNetnsDel, cmdNetnsList,
		cmdLinkAdd, cmdLinkSet, cmdLinkDel, cmdLinkShow,
		cmdAddrAdd, cmdRouteAdd, cmdPing,
		cmdSpawn, cmdKill, cmdIDMap, cmdExec, cmdWatch,
		cmdListen, cmdConnect, cmdClose,
		cmdProxyStart, cmdProxyAdd, cmdProxyDel, cmdProxyStats, cmdProxyStop, cmdCompare,
		cmdExpect, cmdHelp,
	}
}
