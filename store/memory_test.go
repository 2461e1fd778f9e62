package store

import (
	"errors"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
)

// deleteProfile deletes profile from k and checks that read, the getter
// named what, then finds its entry gone.
func deleteProfile(t *testing.T, k Keychain, profile, what string, read func(string) (string, error)) {
	t.Helper()
	if err := k.DeleteProfile(profile); err != nil {
		t.Fatal(err)
	}
	if _, err := read(profile); !errors.Is(err, ErrNotFound) {
		t.Errorf("%s after DeleteProfile = %v, want ErrNotFound", what, err)
	}
}

// A memory Keychain keeps a profile's entries as the OS keychain does,
// shared by its copies and by no other memory Keychain.
func TestMemoryKeychain(t *testing.T) {
	t.Parallel()
	k, other := NewMemoryKeychain(), NewMemoryKeychain()
	copied := k
	tok := auth.Token{AccessToken: "at", RefreshToken: "rt", Expiry: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	if err := k.SetClientSecret("p", "cs"); err != nil {
		t.Fatal(err)
	}
	if err := k.SaveToken("p", tok); err != nil {
		t.Fatal(err)
	}
	if got, err := copied.ClientSecret("p"); err != nil || got != "cs" {
		t.Errorf("a copy reads the client secret as %q, %v", got, err)
	}
	if got, found, err := copied.LoadToken("p"); err != nil || !found || !got.Expiry.Equal(tok.Expiry) || got.AccessToken != tok.AccessToken {
		t.Errorf("a copy loads the token as %+v, %v, %v", got, found, err)
	}
	if _, err := other.ClientSecret("p"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another memory Keychain reads %v, want ErrNotFound", err)
	}
	deleteProfile(t, k, "p", "ClientSecret", k.ClientSecret)
	if _, found, err := k.LoadToken("p"); found || err != nil {
		t.Errorf("after DeleteProfile the token is found %v, %v", found, err)
	}
}
