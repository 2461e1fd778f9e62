// Package ui is Tokentray's Fyne window: the profile list, the profile
// editor, the token view and the settings. It holds no protocol logic:
// what a profile is and how it is tested, added and removed comes from
// package profile, and states and tokens come from the agent over the
// LocalAPI (agent/localapi). Work that may block (the keychain, the agent,
// a server) runs in goroutines, and every widget update from one goroutine
// goes through fyne.Do.
//
// It links none of the agent itself: no tray, clipboard or X11 code of
// Tokentray's (see internal/deptest).
package ui
