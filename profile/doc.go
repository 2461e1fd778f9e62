// Package profile is the one home of what a profile is: which flows exist,
// each flow's default base URL and the secrets it needs, the rules a
// profile must meet (Validate), how a profile becomes its protocol client
// (NewFlow), and adding and removing one (Add, Remove, with revocation).
// The CLI, the window and the agent all call it, so a rule holds the same
// everywhere; nothing outside this package and auth switches on a flow's
// name except to lay out fields.
//
// It knows protocols only through auth and persistence only through store,
// and imports no Fyne, systray, X11 or D-Bus code.
//
// Adding a third flow:
//  1. In auth, one file with the protocol client (an auth.Flow, and an
//     auth.Revoker if the protocol can revoke) and its exported field
//     checks, with tests against a fake in auth/authtest.
//  2. In store, the flow's name (store.FlowX) and, if it keeps a new kind of
//     secret, a SecretKind for it.
//  3. Here, one entry in the flows table (flows.go): its label, default base
//     URL, the secrets it needs, its validation and its NewFlow.
//  4. In the window's editor, the rows of its fields (ui/editor.go), and in
//     `tokentray add`, its flags.
package profile
