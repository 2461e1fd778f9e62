package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/tokentray/tokentray/auth"
)

// renewTimeout bounds the wait for a renewal the Keeper schedules later
// (the server asked for a pause with Retry-After).
const renewTimeout = 30 * time.Second

// Renew obtains a new token of profile now, for a server that refused the
// current one before its expiry (revoked, or the server restarted), and
// returns what the Keeper holds once the renewal is over: the new token,
// or the old one with the renewal's failure in the profile's state.
func (t *Tokens) Renew(ctx context.Context, profile string) (auth.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, renewTimeout)
	defer cancel()
	events, unsubscribe := t.Subscribe()
	defer unsubscribe()
	if events == nil {
		return auth.Token{}, fmt.Errorf("the agent is stopping")
	}
	if err := t.RefreshNow(profile); err != nil {
		return auth.Token{}, err
	}
	for {
		select {
		case e, ok := <-events:
			// A closed stream fell behind: the renewal may be over, and
			// the token held now is the best answer.
			if !ok || e.Profile == profile && e.State != auth.StateRefreshing {
				return t.Token(ctx, profile)
			}
		case <-ctx.Done():
			return auth.Token{}, fmt.Errorf("renewing the token of profile %s: %w", profile, ctx.Err())
		}
	}
}

// Refused puts in profile's state that its API refuses the token
// accessToken (why "" takes that back): the proxy saw a 401 that a
// renewal did not cure. The tray, `list` and the window show it.
func (t *Tokens) Refused(profile, accessToken, why string) {
	if k := t.keep(); k != nil {
		k.Refused(profile, accessToken, why)
	}
}
