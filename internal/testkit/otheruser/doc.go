// Package otheruser gives the Linux tests that play a second local user
// (planting files in a shared directory, holding a lock, connecting to a
// socket) one way to get that user and act as it.
//
// It is Linux only: it needs root, useradd and setpriv.
package otheruser
