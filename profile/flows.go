package profile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// A Flow is one token protocol as a profile uses it.
type Flow struct {
	Name           string // as stored in the config: store.FlowIdentity, …
	Label          string // as the window names it
	DefaultBaseURL string
	// Revokes says whether removing a profile revokes its grant at the
	// server: whether the flow's auth.Flow is an auth.Revoker.
	Revokes bool
	// secrets are the keychain secrets a profile of this flow needs.
	secrets func(p store.Profile) []store.SecretKind
	// client is who p speaks to the server as: its client key or id.
	client func(p store.Profile) string
	// validate checks the fields of this flow, beyond what all flows share.
	validate func(p store.Profile) error
	newFlow  func(p store.Profile, s store.Secrets, device auth.Device) auth.Flow
}

// flows is every flow this version speaks, the default first.
var flows = []Flow{
	{
		Name:           store.FlowIdentity,
		Label:          "Identity",
		DefaultBaseURL: "https://api.nfl.com",
		secrets: func(p store.Profile) []store.SecretKind {
			if p.UID != "" {
				return []store.SecretKind{store.SecretClient, store.SecretUIDSignature}
			}
			return []store.SecretKind{store.SecretClient}
		},
		client:   func(p store.Profile) string { return p.ClientKey },
		validate: validateIdentity,
		newFlow: func(p store.Profile, s store.Secrets, device auth.Device) auth.Flow {
			f := &auth.IdentityFlow{BaseURL: p.BaseURL, ClientKey: p.ClientKey, ClientSecret: s.ClientSecret, Device: device}
			if p.UID != "" {
				f.UID, f.UIDSignature, f.SignatureTimestamp = p.UID, s.UIDSignature, p.SignatureTimestamp
			}
			return f
		},
	},
	{
		Name:           store.FlowWeb,
		Label:          "Web grant",
		DefaultBaseURL: "https://api.polar.sh",
		Revokes:        true,
		secrets: func(store.Profile) []store.SecretKind {
			return []store.SecretKind{store.SecretClient, store.SecretSessionToken}
		},
		client:   func(p store.Profile) string { return p.ClientID },
		validate: validateWeb,
		newFlow: func(p store.Profile, s store.Secrets, _ auth.Device) auth.Flow {
			return &auth.WebGrantFlow{
				BaseURL: p.BaseURL, ClientID: p.ClientID, ClientSecret: s.ClientSecret, SessionToken: s.SessionToken,
				SubType: p.SubType, Sub: p.Sub, Scope: p.Scope,
			}
		},
	},
}

func validateIdentity(p store.Profile) error {
	if p.ClientKey == "" {
		return &FieldError{"client-key", errors.New("enter the client key")}
	}
	if _, err := auth.ParseNetwork(p.Network); err != nil {
		return &FieldError{"network", err}
	}
	// A signed-in account sends all three (docs/PROTOCOLS.md); a uid
	// without its timestamp, or the reverse, is a mistake to say now rather
	// than a refused refresh later.
	if (p.UID == "") != (p.SignatureTimestamp == "") {
		missing := "uid"
		if p.SignatureTimestamp == "" {
			missing = "signature-timestamp"
		}
		return &FieldError{missing, errors.New("the uid and the signature timestamp go together: give both for a signed-in account, neither for an anonymous device")}
	}
	if strings.Trim(p.SignatureTimestamp, "0123456789") != "" {
		return &FieldError{"signature-timestamp", fmt.Errorf("the signature timestamp is Unix seconds (digits only), not %q", p.SignatureTimestamp)}
	}
	return nil
}

func validateWeb(p store.Profile) error {
	if p.ClientID == "" {
		return &FieldError{"client-id", errors.New("enter the client ID")}
	}
	if err := auth.CheckSub(p.SubType, p.Sub); err != nil {
		field := "sub"
		if p.SubType != "" && p.SubType != auth.SubTypeUser && p.SubType != auth.SubTypeOrganization {
			field = "sub-type"
		}
		return &FieldError{field, err}
	}
	return nil
}
