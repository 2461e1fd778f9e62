// Package store keeps Tokentray's state on this machine: the profiles in a
// JSON config file that never holds a secret (written so that a crash
// mid-write keeps the old one), every secret (client secrets, session
// tokens, uid signatures, token records) in the OS keychain or, without
// one, in an encrypted secrets file, and the locks that serialise changes
// to the config and refreshes of a profile across processes.
//
// It knows files, the keychain and locks, nothing of HTTP or of what a flow
// needs (package profile says that). It imports no Fyne, systray, X11 or
// clipboard code; on Linux the keychain is the Secret Service over D-Bus
// (see internal/deptest).
package store
