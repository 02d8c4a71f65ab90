//go:build !linux

package main

// platformCommands: none but Linux has them (see commands_linux.go).
var platformCommands []func()
