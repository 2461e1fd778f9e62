package store

// SecretKind names one of the secrets a profile may keep in the keychain.
// The profile package says which a profile needs; store alone knows where
// each is kept.
type SecretKind int

// The secrets a profile may keep, besides its token record.
const (
	SecretClient SecretKind = iota
	SecretSessionToken
	SecretUIDSignature
)

// String is the secret as people call it, in messages.
func (s SecretKind) String() string {
	switch s {
	case SecretSessionToken:
		return "session token"
	case SecretUIDSignature:
		return "uid signature"
	default:
		return "client secret"
	}
}

// Account is the keychain account that holds this secret of profile.
func (s SecretKind) Account(profile string) string {
	return profile + s.suffix()
}

// suffix ends the keychain account of this secret.
func (s SecretKind) suffix() string {
	switch s {
	case SecretSessionToken:
		return sessionTokenSuffix
	case SecretUIDSignature:
		return uidSignatureSuffix
	default:
		return clientSecretSuffix
	}
}

// Of picks this kind's value out of secrets.
func (s SecretKind) Of(secrets Secrets) string {
	switch s {
	case SecretSessionToken:
		return secrets.SessionToken
	case SecretUIDSignature:
		return secrets.UIDSignature
	default:
		return secrets.ClientSecret
	}
}

// Secret reads one secret of profile, checking the name as the accessor
// of each secret does.
func (k Keychain) Secret(profile string, kind SecretKind) (string, error) {
	return k.profileEntry(profile, kind.suffix())
}
