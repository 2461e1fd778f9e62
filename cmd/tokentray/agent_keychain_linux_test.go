package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokentray/tokentray/internal/testkit"
)

// The agent keeps answering while its keychain does not: the LocalAPI
// answers at once, the profiles read "keychain not answering" (not "needs
// user"), a token it holds is still served, and when the keychain answers
// again the profiles become valid without a restart.
func TestAgentKeychainNotAnswering(t *testing.T) {
	t.Parallel()
	env, runtimeDir := desktop(t)
	keychain := newStuckKeychain(t)
	const timeout = 8 * time.Second
	env = keychain.env(env, timeout)
	c, _ := identityProfiles(t, env, "key-stuck", "secret-stuck", "one", "two")

	keychain.wedge()
	start := time.Now()
	_, client := startAgent(t, env, runtimeDir)
	// startAgent returned on the LocalAPI's first answer; it came while the
	// agent's first keychain call was still waiting for its deadline.
	if answered := time.Since(start); answered >= timeout {
		t.Errorf("the LocalAPI first answered after %s, when the keychain call had given up already: it waited for the keychain", answered)
	}
	answersAtOnce := func(when string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := client.Status(ctx); err != nil {
			t.Errorf("%s: the LocalAPI did not answer within a second: %v", when, err)
		}
	}
	answersAtOnce("while the keychain does not answer")
	if err := client.Reload(context.Background()); err != nil {
		t.Errorf("reload: %v", err)
	}
	answersAtOnce("after a reload, with the keychain not answering")
	waitStates(t, c, "keychain not answering", "one", "two")
	if e := c.list()["one"]; !strings.Contains(e.Error, "org.freedesktop.secrets") {
		t.Errorf("list's error for one is %q, want the keychain named", e.Error)
	}

	keychain.mend()
	waitStates(t, c, "valid", "one", "two")
	held, err := client.Token(context.Background(), "one")
	if err != nil {
		t.Fatal(err)
	}

	keychain.wedge()
	if err := client.Refresh(context.Background(), "one"); err != nil {
		t.Fatal(err)
	}
	answersAtOnce("while a refresh waits for the keychain")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if tok, err := client.Token(ctx, "one"); err != nil || tok.AccessToken != held.AccessToken {
		t.Errorf("the held token was not served at once while the keychain does not answer: %v", err)
	}
	waitStates(t, c, "keychain not answering", "one")
	if got := c.list()["two"].State; got != "valid" {
		t.Errorf("two is %q while one waits for the keychain, want valid", got)
	}
}

// waitStates waits until list shows every profile named in state.
func waitStates(t *testing.T, c *cli, state string, names ...string) {
	t.Helper()
	var got map[string]listEntry
	if !testkit.Poll(90*time.Second, func() bool {
		got = c.list()
		all := true
		for _, name := range names {
			all = all && got[name].State == state
		}
		return all
	}) {
		t.Fatalf("list never showed %v as %q; last: %+v", names, state, got)
	}
}
