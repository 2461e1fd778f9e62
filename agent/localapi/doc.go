// Package localapi is the client side of the agent's LocalAPI, and what
// both sides share: the wire types (Status and the event stream, both
// of auth.Events, TokenResponse), the paths of the agent's socket and directory,
// the transport (Listen on the agent's side, the dialing Client on the
// other, each checking that the peer is this user), starting the agent
// (EnsureRunning) and the GUI's own socket that brings its window forward.
//
// The window and the CLI's client commands import it alone, so it must not
// import the tray (fyne.io/systray), X11 (github.com/jezek/xgb), D-Bus
// (github.com/godbus/dbus/v5) or any clipboard code (see TestDependencies).
package localapi
