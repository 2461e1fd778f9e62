// Package desktop is how the agent fits into the desktop: start at login
// (an XDG autostart entry, a LaunchAgent, the Run key), notifications, and
// the system events that should make the agent look at its tokens again
// (resume from suspend, network changes).
//
// It knows nothing of tokens or profiles, and imports no Fyne or tray code.
package desktop
