package profile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// TestFlowsTable keeps each entry of the flows table true to its protocol
// client: a flow that says it revokes builds an auth.Revoker, and the other
// way round.
func TestFlowsTable(t *testing.T) {
	for _, f := range Flows() {
		flow, err := NewFlow(store.Profile{Name: "p", Flow: f.Name}, store.Secrets{}, auth.Device{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := flow.(auth.Revoker); ok != f.Revokes {
			t.Errorf("flow %s: Revokes is %v, but its client is a Revoker: %v", f.Name, f.Revokes, ok)
		}
		if auth.CheckBaseURL(f.DefaultBaseURL) != nil || f.Label == "" {
			t.Errorf("flow %s: default base URL %q, label %q", f.Name, f.DefaultBaseURL, f.Label)
		}
	}
}

// TestValidate holds the rules that the CLI and the window both apply, so
// that neither saves a profile the engine refuses.
func TestValidate(t *testing.T) {
	const sub = "0b0cbd7c-7a8f-4d8b-9b35-3c1a2d4f5e6a"
	web := store.Profile{Name: "w", Flow: store.FlowWeb, BaseURL: "https://api.polar.sh", ClientID: "id"}
	identity := store.Profile{Name: "i", Flow: store.FlowIdentity, BaseURL: "https://api.nfl.com", ClientKey: "key"}
	with := func(p store.Profile, change func(*store.Profile)) store.Profile { change(&p); return p }
	socketField := "" // valid, except on Windows, which has no unix: proxy
	if runtime.GOOS == "windows" {
		socketField = "proxy"
	}
	for _, tc := range []struct {
		name  string
		p     store.Profile
		field string // "" for valid
	}{
		{"web", web, ""},
		{"organization", with(web, func(p *store.Profile) { p.SubType, p.Sub = auth.SubTypeOrganization, sub }), ""},
		{"identity", identity, ""},
		{"signed in", with(identity, func(p *store.Profile) { p.UID, p.SignatureTimestamp = "u", "1718000000" }), ""},
		{"bad name", with(web, func(p *store.Profile) { p.Name = "a/b" }), "name"},
		{"unknown flow", with(web, func(p *store.Profile) { p.Flow = "magic" }), "flow"},
		{"plain http", with(web, func(p *store.Profile) { p.BaseURL = "http://example.com" }), "url"},
		{"no client id", with(web, func(p *store.Profile) { p.ClientID = "" }), "client-id"},
		{"sub for a user", with(web, func(p *store.Profile) { p.Sub = sub }), "sub"},
		{"organization without sub", with(web, func(p *store.Profile) { p.SubType = auth.SubTypeOrganization }), "sub"},
		{"braced sub", with(web, func(p *store.Profile) { p.SubType, p.Sub = auth.SubTypeOrganization, "{"+sub+"}" }), "sub"},
		{"odd sub type", with(web, func(p *store.Profile) { p.SubType = "team" }), "sub-type"},
		{"no client key", with(identity, func(p *store.Profile) { p.ClientKey = "" }), "client-key"},
		{"odd network", with(identity, func(p *store.Profile) { p.Network = "carrier pigeon" }), "network"},
		{"uid alone", with(identity, func(p *store.Profile) { p.UID = "u" }), "signature-timestamp"},
		{"timestamp alone", with(identity, func(p *store.Profile) { p.SignatureTimestamp = "1718000000" }), "uid"},
		{"proxy on loopback", with(web, func(p *store.Profile) { p.Proxy = "127.0.0.1:8787" }), ""},
		{"proxy on a socket", with(web, func(p *store.Profile) { p.Proxy = "unix:" + filepath.Join(os.TempDir(), "w.sock") }), socketField},
		{"proxy on every interface", with(web, func(p *store.Profile) { p.Proxy = "0.0.0.0:8787" }), "proxy"},
		{"proxy on a relative socket", with(web, func(p *store.Profile) { p.Proxy = "unix:w.sock" }), "proxy"},
		{"timestamp not digits", with(identity, func(p *store.Profile) { p.UID, p.SignatureTimestamp = "u", "17e8" }), "signature-timestamp"},
	} {
		err := Validate(tc.p)
		var fe *FieldError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v, want valid", tc.name, err)
		case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
			t.Errorf("%s: %v, want an error about %s", tc.name, err, tc.field)
		}
	}
}
