//go:build unix

package main

import (
	"os"
	"syscall"
)

// forwardedSignals are those exec passes on to its child: the ones that ask
// a program to stop or to do something. SIGWINCH is not among them: the
// terminal sends it to the child directly.
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2,
}

// fitsEnvironment: a Unix environment takes a token of any length.
func fitsEnvironment(string) error { return nil }
