// Package agent is Tokentray's long-lived process: it keeps every profile's
// token (Tokens, over auth.Keeper), serves it on the LocalAPI (Server), shows
// the tray menu (Tray, on fyne.io/systray) and hands tokens to the clipboard.
//
// It owns the running of those pieces and their wiring (Run). What it
// builds on lives beside it, in packages of their own, so that the window
// and the CLI's client commands link none of the agent: the LocalAPI client,
// its wire types and its transport (agent/localapi), the clipboard
// (agent/clipboard), desktop integration (agent/desktop) and the redacting
// log (agent/logging). What a profile is comes from package profile.
//
// It must never import fyne.io/fyne/v2: the agent idles all day, and Fyne's
// loop would wake it 60 times a second (see TestDependencies).
package agent
