package main

// platformCommands are the commands that exist on Linux only: the proxy,
// the room, and the benchmarks that make namespaces.
var platformCommands = []func(){
	setupBenchNetns, setupBenchProxy, setupBenchServe, setupProxy, setupProxyctl, setupServe,
}
