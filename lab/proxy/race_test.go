//go:build race

package proxy_test

// raceEnabled: the tests run under the race detector, whose processes
// start and run several times slower.
const raceEnabled = true
