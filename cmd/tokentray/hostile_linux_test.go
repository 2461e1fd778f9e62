package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tokentray/tokentray/internal/testkit/otheruser"
)

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// With XDG_RUNTIME_DIR=/tmp another user makes /tmp/tokentray and its locks
// dir first (1777), holds the config lock there and plants a symlink as the
// socket: add, token and the agent still work, from the cache dir, and the
// other user's directories stay as they were.
func TestRuntimeDirPlantedByAnotherUser(t *testing.T) {
	t.Parallel()
	uid, gid := otheruser.Lookup(t, "flock")
	env, _ := desktop(t)
	env = privateKeyring(t, env) // a keyring of its own: another test runs a profile of the same name
	shared := otheruser.SharedDir(t)
	env = append(env, "XDG_RUNTIME_DIR="+shared)
	planted := filepath.Join(shared, "tokentray")
	if out, err := otheruser.Command(uid, gid, "sh", "-c", `umask 0 && mkdir -m 1777 "$1" "$1/locks" && ln -s "$2" "$1/agent.sock"`, "sh", planted, filepath.Join(shared, "elsewhere")).CombinedOutput(); err != nil {
		t.Fatalf("planting as the other user: %v: %s", err, out)
	}
	sum := sha256.Sum256([]byte(filepath.Join(configHome(env), "tokentray", "config.json")))
	holder := otheruser.Command(uid, gid, "flock", filepath.Join(planted, "locks", "config+"+hex.EncodeToString(sum[:8])+".lock"), "sh", "-c", "echo locked; exec sleep 300")
	otheruser.Start(t, holder, "lock holder", "locked")

	c, server := identityProfiles(t, env, "key-planted", "secret-planted", "p")
	if got := strings.TrimSpace(c.must("", "token", "p")); !server.Accepts(got) {
		t.Error("token without the agent: not a token the server accepts")
	}
	_, _, logs := startAgentLogged(t, env, envValue(env, "XDG_CACHE_HOME"))
	if got := strings.TrimSpace(c.must("", "token", "p")); !server.Accepts(got) {
		t.Error("token from the agent: not a token the server accepts")
	}
	if !strings.Contains(logs.String(), "not using the runtime dir") {
		t.Errorf("the agent's log does not say it left the runtime dir:\n%s", logs.String())
	}
	for _, d := range []string{planted, filepath.Join(planted, "locks")} {
		fi, err := os.Lstat(d)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid || fi.Mode()&(os.ModePerm|os.ModeSticky) != os.ModeSticky|0o777 {
			t.Errorf("the other user's %s is now uid %d, mode %v: Tokentray changed it", d, st.Uid, fi.Mode())
		}
	}
	if fi, err := os.Lstat(filepath.Join(planted, "agent.sock")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the planted symlink was replaced or removed (%v)", err)
	}
}
