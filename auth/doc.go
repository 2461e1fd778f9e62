// Package auth speaks Tokentray's token protocols and decides when a token
// is fresh: each protocol is a Flow (IdentityFlow, WebGrantFlow; a Revoker
// where the protocol can revoke), with its exported field checks
// (CheckBaseURL, CheckSub); the device identity (Device, DeviceInfo, the
// network type); the token model (Token) and the Keeper, which keeps every
// profile's token fresh on one timer and reports each change as an Event.
// docs/PROTOCOLS.md says how each protocol is spoken.
//
// It knows HTTP and time. Persistence comes in through TokenStore and
// Locker, so it imports neither store nor the keychain, and nothing of the
// desktop: no Fyne, systray, X11, D-Bus or clipboard (see internal/deptest).
// Its fakes for tests are in auth/authtest.
package auth
