package auth

import (
	"context"
	"fmt"
	"time"
)

// DefaultMargin is how long a token must still be valid for Fresh to hand it
// out: long enough for a script to make its calls with it, short compared
// with the identity API's token lifetimes of an hour or more.
const DefaultMargin = 2 * time.Minute

// Fresh returns a token of profile that is valid for at least margin after
// now. It returns the stored token when that suffices; otherwise it
// refreshes, or acquires anew when there is no refresh token or the server
// rejected it, and saves the new grant before returning it, because the
// refresh token it replaces is already spent. When that fails while the
// stored access token is still accepted, if only for less than margin, the
// stored token is served: a server fault must not take away a working token.
// Otherwise it returns the error and leaves the stored token as it was. The caller serialises calls
// for one profile (the store's profile lock).
func Fresh(ctx context.Context, flow Flow, st TokenStore, profile string, now time.Time, margin time.Duration) (Token, error) {
	old, found, err := st.LoadToken(profile)
	if err != nil {
		return Token{}, fmt.Errorf("loading the token of %s: %w", profile, err)
	}
	if found && old.ValidFor(now, margin) {
		return old, nil
	}
	var t Token
	if found && old.RefreshToken != "" {
		t, err = flow.Refresh(ctx, old.RefreshToken)
		if ActionOf(err) == Reacquire {
			t, err = flow.Acquire(ctx)
		}
	} else {
		t, err = flow.Acquire(ctx)
	}
	if err != nil {
		if found && old.ValidFor(now, 0) {
			return old, nil
		}
		return Token{}, err
	}
	if err := st.SaveToken(profile, t); err != nil {
		return Token{}, fmt.Errorf("saving the token of %s: %w", profile, err)
	}
	return t, nil
}
