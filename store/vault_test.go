package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store/secretenv"
)

// testKDF keeps the tests fast; the format and code paths are the same.
var testKDF = kdfParams{time: 1, memory: 64, threads: 1}

const testPassphraseEnv = "TOKENTRAY_TEST_PASSPHRASE"

// testPassphrase is long enough to make a new file with.
const testPassphrase = "test passphrase"

// testVault returns a vault at a fresh path whose passphrase comes from
// testPassphraseEnv, set to passphrase for this test.
func testVault(t *testing.T, passphrase string) *vault {
	t.Helper()
	t.Setenv(testPassphraseEnv, passphrase)
	return &vault{path: filepath.Join(t.TempDir(), "tokentray", "secrets.enc"), env: testPassphraseEnv, kdf: testKDF}
}

// forgetKeys empties the process's key cache, as a new process starts.
func forgetKeys() {
	vaultKeys.Lock()
	clear(vaultKeys.m)
	vaultKeys.Unlock()
}

func TestVaultRoundTrip(t *testing.T) {
	v := testVault(t, "correct horse battery staple")
	k := Keychain{Service: Service, kr: v}
	big := strings.Repeat("eyJhbGciOi.Jz-_", 64<<10/15+1)[:64<<10] // 64 KB
	tok := auth.Token{AccessToken: big, RefreshToken: "refresh-ü", Expiry: time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := k.SetClientSecret("prod", "client secret\nwith a newline"); err != nil {
		t.Fatal(err)
	}
	if err := k.SaveToken("prod", tok); err != nil {
		t.Fatal(err)
	}
	forgetKeys() // read back as another process would: deriving the key anew
	k = Keychain{Service: Service, kr: &vault{path: v.path, env: testPassphraseEnv}}
	if got, err := k.ClientSecret("prod"); err != nil || got != "client secret\nwith a newline" {
		t.Errorf("ClientSecret = %q, %v", got, err)
	}
	got, found, err := k.LoadToken("prod")
	if err != nil || !found || got.AccessToken != big || got.RefreshToken != tok.RefreshToken || !got.Expiry.Equal(tok.Expiry) {
		t.Errorf("LoadToken = %d-byte access token, %q, %v, found %v, %v", len(got.AccessToken), got.RefreshToken, got.Expiry, found, err)
	}
	if _, err := k.SessionToken("prod"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SessionToken of none = %v, want ErrNotFound", err)
	}
	deleteProfile(t, k, "prod", "ClientSecret", k.ClientSecret)
}

// The file is 0600 in a 0700 directory and holds no secret, account name
// or service name in the clear.
func TestVaultFileBytes(t *testing.T) {
	v := testVault(t, testPassphrase)
	const secret = "s3cret-plaintext-value"
	if err := (Keychain{Service: "svc-name", kr: v}).SetClientSecret("profile-name", secret); err != nil {
		t.Fatal(err)
	}
	assertMode(t, v.path, 0o600)
	assertMode(t, filepath.Dir(v.path), 0o700)
	data, err := os.ReadFile(v.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secret, "profile-name", "svc-name", testPassphrase} {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the file holds %q in the clear", s)
		}
	}
	if len(data)%vaultPad != vaultHeaderLen+16 {
		t.Errorf("the file is %d bytes: the body is not padded to %d", len(data), vaultPad)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(v.path), "*.tmp"))
	if len(matches) > 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

// A wrong passphrase is told apart, needs the user, and changes nothing.
func TestVaultWrongPassphrase(t *testing.T) {
	v := testVault(t, "right passphrase")
	k := Keychain{Service: Service, kr: v}
	if err := k.SetClientSecret("prod", "value"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(v.path)
	forgetKeys()
	t.Setenv(testPassphraseEnv, "wrong")
	_, err := k.ClientSecret("prod")
	if !errors.Is(err, ErrWrongPassphrase) || auth.ActionOf(err) != auth.NeedsUser || !strings.Contains(err.Error(), "$"+testPassphraseEnv) {
		t.Errorf("ClientSecret with a wrong passphrase = %v; want ErrWrongPassphrase, needing the user, naming the variable", err)
	}
	if err := k.SetClientSecret("prod", "other"); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("SetClientSecret with a wrong passphrase = %v", err)
	}
	if err := k.DeleteProfile("prod"); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("DeleteProfile with a wrong passphrase = %v", err)
	}
	if after, _ := os.ReadFile(v.path); !bytes.Equal(before, after) {
		t.Error("a wrong passphrase changed the file")
	}

	// Asked on a terminal: three tries, then the same error.
	t.Setenv(testPassphraseEnv, "")
	var asked []bool
	k.kr = &vault{path: v.path, env: testPassphraseEnv, ask: func(create bool) (string, error) {
		asked = append(asked, create)
		return "typo", nil
	}}
	if _, err := k.ClientSecret("prod"); !errors.Is(err, ErrWrongPassphrase) || len(asked) != 3 || asked[0] {
		t.Errorf("a wrong typed passphrase: %v after %v asks; want ErrWrongPassphrase after 3, none for a new file", err, asked)
	}
	asked = nil
	k.kr.(*vault).ask = func(create bool) (string, error) {
		asked = append(asked, create)
		return "right passphrase", nil
	}
	for range 2 {
		if got, err := k.ClientSecret("prod"); err != nil || got != "value" {
			t.Errorf("ClientSecret with the typed passphrase = %q, %v", got, err)
		}
	}
	if len(asked) != 1 {
		t.Errorf("asked %d times; the key is kept for the process", len(asked))
	}
}

// A new file needs a passphrase of MinPassphraseLen characters, from the
// environment or typed, and a refused one writes nothing; a file made
// before with a shorter one opens and is written as always.
func TestVaultNewFileNeedsLongPassphrase(t *testing.T) {
	v := testVault(t, "a")
	k := Keychain{Service: Service, kr: v}
	err := k.SetClientSecret("prod", "value")
	if !errors.Is(err, ErrWeakPassphrase) || auth.ActionOf(err) != auth.NeedsUser || !strings.Contains(err.Error(), "at least 12") || !strings.Contains(err.Error(), "$"+testPassphraseEnv) {
		t.Errorf("a new file with passphrase %q: %v; want ErrWeakPassphrase, needing the user, saying 12 and naming the variable", "a", err)
	}
	t.Setenv(testPassphraseEnv, "")
	v.ask = func(bool) (string, error) { return "eleven char", nil }
	if err := k.SetClientSecret("prod", "value"); !errors.Is(err, ErrWeakPassphrase) || strings.Contains(err.Error(), "eleven") {
		t.Errorf("a new file with a typed 11-character passphrase: %v; want ErrWeakPassphrase, not quoting it", err)
	}
	if _, err := os.Stat(v.path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused passphrase made the file (%v)", err)
	}
	v.ask = func(bool) (string, error) { return "twelve chars", nil }
	if err := k.SetClientSecret("prod", "value"); err != nil {
		t.Errorf("a new file with a 12-character passphrase: %v", err)
	}

	// A file an older Tokentray made with "a".
	old := &vault{path: filepath.Join(t.TempDir(), "secrets.enc"), env: testPassphraseEnv, kdf: testKDF}
	h := &vaultHeader{kdf: testKDF}
	key, check := derive("a", h.kdf, h.salt[:])
	h.check = check
	sealed, err := old.seal(h, &key, vaultEntries{Service: {"prod/client-secret": "old value"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(old.path, sealed); err != nil {
		t.Fatal(err)
	}
	t.Setenv(testPassphraseEnv, "a")
	k = Keychain{Service: Service, kr: old}
	if got, err := k.ClientSecret("prod"); err != nil || got != "old value" {
		t.Errorf("ClientSecret from a file made with a short passphrase = %q, %v", got, err)
	}
	if err := k.SetClientSecret("prod", "new value"); err != nil {
		t.Errorf("SetClientSecret into a file made with a short passphrase: %v", err)
	}
}

// A passphrase taken out of the environment (the agent and the window do)
// opens the file as from the variable.
func TestVaultPassphraseTakenFromEnv(t *testing.T) {
	v := testVault(t, testPassphrase)
	k := Keychain{Service: Service, kr: v}
	if err := k.SetClientSecret("prod", "value"); err != nil {
		t.Fatal(err)
	}
	forgetKeys()
	secretenv.Take(testPassphraseEnv)
	if _, ok := os.LookupEnv(testPassphraseEnv); ok {
		t.Fatal("Take left the variable")
	}
	if got, err := k.ClientSecret("prod"); err != nil || got != "value" {
		t.Errorf("ClientSecret with the passphrase taken = %q, %v", got, err)
	}
}

// Without the variable or a terminal, the error says how to give it; a
// read of a file that does not exist needs no passphrase at all.
func TestVaultNoPassphrase(t *testing.T) {
	v := testVault(t, "")
	k := Keychain{Service: Service, kr: v}
	if _, err := k.ClientSecret("prod"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ClientSecret without a file = %v, want ErrNotFound", err)
	}
	if err := k.DeleteProfile("prod"); err != nil {
		t.Errorf("DeleteProfile without a file = %v", err)
	}
	if _, err := os.Stat(v.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a delete made the file: %v", err)
	}
	// A value short enough to occur in the error's words ("secrets") must
	// not turn it into keychain advice.
	err := k.SetClientSecret("prod", "sec")
	if !errors.Is(err, ErrNoPassphrase) || auth.ActionOf(err) != auth.NeedsUser || !strings.Contains(err.Error(), "$"+testPassphraseEnv) {
		t.Errorf("SetClientSecret without a passphrase = %v; want ErrNoPassphrase naming $%s", err, testPassphraseEnv)
	}
	if strings.Contains(err.Error(), "keyring") {
		t.Errorf("the error gives keychain advice: %v", err)
	}
	var asked []bool
	v.ask = func(create bool) (string, error) { asked = append(asked, create); return "typed passphrase", nil }
	if err := k.SetClientSecret("prod", "value"); err != nil || len(asked) != 1 || !asked[0] {
		t.Errorf("SetClientSecret asking = %v, asked %v; want one ask for a new file", err, asked)
	}
}

// Every byte of the file matters: a change anywhere, or a cut, is an
// error and never a value.
func TestVaultTamperedAndTruncated(t *testing.T) {
	v := testVault(t, testPassphrase)
	k := Keychain{Service: Service, kr: v}
	if err := k.SetClientSecret("prod", "value"); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(v.path)
	if err != nil {
		t.Fatal(err)
	}
	read := func(data []byte) error {
		if err := os.WriteFile(v.path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := k.ClientSecret("prod")
		if err == nil || got != "" {
			return fmt.Errorf("read %q, %v", got, err)
		}
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("read reports %v, as if the entry were missing", err)
		}
		return nil
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0xff
		if err := read(bad); err != nil {
			t.Errorf("byte %d flipped: %v", i, err)
		}
	}
	for n := range len(good) {
		if err := read(good[:n]); err != nil {
			t.Errorf("cut to %d bytes: %v", n, err)
		}
	}
	if err := read(append(bytes.Clone(good), 0)); err != nil {
		t.Errorf("a byte appended: %v", err)
	}
	// A damaged file is not overwritten by a write either.
	bad := bytes.Clone(good)
	bad[len(bad)-1] ^= 1
	os.WriteFile(v.path, bad, 0o600)
	if err := k.SetClientSecret("prod", "new"); !errors.Is(err, ErrDamaged) || auth.ActionOf(err) != auth.NeedsUser {
		t.Errorf("SetClientSecret on a damaged file = %v, want ErrDamaged", err)
	}
	if after, _ := os.ReadFile(v.path); !bytes.Equal(after, bad) {
		t.Error("a write replaced a damaged file")
	}
}

// The helper of TestVaultConcurrentWriters: it sets entries A-0 … A-29.
func TestVaultWriterHelper(t *testing.T) {
	path := os.Getenv("VAULT_HELPER_PATH")
	if path == "" {
		t.Skip("run by TestVaultConcurrentWriters")
	}
	k := Keychain{Service: Service, kr: &vault{path: path, env: testPassphraseEnv}}
	for i := range 30 {
		if err := k.backend().Set(Service, fmt.Sprintf("%s-%d", os.Getenv("VAULT_HELPER_ID"), i), "v"); err != nil {
			t.Fatal(err)
		}
	}
}

// Two processes and two Keychains in this one write at once; every entry
// survives.
func TestVaultConcurrentWriters(t *testing.T) {
	v := testVault(t, testPassphrase)
	if err := v.Set(Service, "first", "v"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, id := range []string{"p1", "p2"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestVaultWriterHelper$")
		cmd.Env = append(os.Environ(), "VAULT_HELPER_PATH="+v.path, "VAULT_HELPER_ID="+id, "GORACE=atexit_sleep_ms=0")
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("helper %s: %v\n%s", id, err, out)
			}
		})
	}
	for _, id := range []string{"g1", "g2"} {
		other := &vault{path: v.path, env: testPassphraseEnv}
		wg.Go(func() {
			for i := range 30 {
				if err := other.Set(Service, id+"-"+strconv.Itoa(i), "v"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	accounts, err := v.accounts(Service)
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 1+4*30 {
		t.Errorf("the file holds %d entries, want %d: writes were lost", len(accounts), 1+4*30)
	}
}

func accountsOf(entries []Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Account)
	}
	return out
}

// The secrets file lists its entries, so doctor finds orphans there too.
func TestVaultOrphans(t *testing.T) {
	v := testVault(t, testPassphrase)
	k := Keychain{Service: Service, kr: v}
	for _, name := range []string{"prod", "gone"} {
		if err := k.SetClientSecret(name, "s"); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Set(Service, "prod/token/chunk/3/0", "stray"); err != nil {
		t.Fatal(err)
	}
	orphans, err := k.Orphans([]string{"prod"})
	if got, want := accountsOf(orphans), []string{"gone/client-secret", "prod/token/chunk/3/0"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("Orphans = %q, %v; want %q", got, err, want)
	}
	path := configPath(t)
	if err := (&Config{Profiles: []Profile{{Name: "prod", Flow: FlowIdentity}}}).Save(path); err != nil {
		t.Fatal(err)
	}
	for _, e := range orphans {
		if err := k.DeleteOrphan(t.Context(), path, e); err != nil {
			t.Fatal(err)
		}
	}
	if all, err := k.Entries(); err != nil || !slices.Equal(accountsOf(all), []string{"prod/client-secret"}) {
		t.Errorf("after deleting the orphans the file holds %q, %v", accountsOf(all), err)
	}
}

// OpenKeychain uses the secrets file only when the settings say so.
func TestOpenKeychain(t *testing.T) {
	path := configPath(t)
	if k := OpenKeychain(path, nil); k.kr != nil {
		t.Errorf("with no config OpenKeychain gave %T, want the OS keychain", k.kr)
	}
	cfg := &Config{Settings: Settings{Secrets: SecretsFile, PassphraseEnv: "MY_PASS"}}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	v, ok := OpenKeychain(path, nil).kr.(*vault)
	if !ok || v.path != SecretsFilePath(path) || v.env != "MY_PASS" || v.kdf != defaultKDF {
		t.Errorf("with secrets: file OpenKeychain gave %#v", OpenKeychain(path, nil).kr)
	}
	cfg.Settings = Settings{Secrets: "plaintext"}
	if err := cfg.Save(path); err != nil {
		t.Fatal(err)
	}
	_, err := OpenKeychain(path, nil).ClientSecret("prod")
	if err == nil || !strings.Contains(err.Error(), `"plaintext"`) || auth.ActionOf(err) != auth.NeedsUser {
		t.Errorf("an unknown backend gave %v", err)
	}
	os.WriteFile(path, []byte("{"), 0o600)
	if _, err := OpenKeychain(path, nil).ClientSecret("prod"); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a config that does not parse gave %v", err)
	}
	if errors.Is(err, keyring.ErrNotFound) {
		t.Error("an unusable backend reads as a missing entry")
	}
}

// Deriving the key is the price of the first use in a process.
func BenchmarkVaultDeriveDefault(b *testing.B) {
	salt := make([]byte, vaultSaltSize)
	for b.Loop() {
		derive("passphrase", defaultKDF, salt)
	}
}

// A read with the key known: what every later use costs.
func BenchmarkVaultGet(b *testing.B) {
	b.Setenv(testPassphraseEnv, testPassphrase)
	v := &vault{path: filepath.Join(b.TempDir(), "secrets.enc"), env: testPassphraseEnv, kdf: testKDF}
	if err := (Keychain{Service: Service, kr: v}).SaveToken("prod", auth.Token{AccessToken: strings.Repeat("a", 4096), Expiry: time.Now()}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := v.Get(Service, "prod/token"); err != nil {
			b.Fatal(err)
		}
	}
}

// A temporary file left by a writer killed before its rename is deleted
// once stale, by the next write and by the removal of an emptied file.
func TestVaultRemovesStaleTemps(t *testing.T) {
	v := testVault(t, testPassphrase)
	k := Keychain{Service: Service, kr: v}
	stale := func() string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(v.path), 0o700); err != nil {
			t.Fatal(err)
		}
		f, err := os.CreateTemp(filepath.Dir(v.path), "."+filepath.Base(v.path)+".*.tmp")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(f.Name(), old, old); err != nil {
			t.Fatal(err)
		}
		return f.Name()
	}
	left := stale()
	if err := k.SetClientSecret("prod", "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a write left the stale %s: %v", left, err)
	}
	if err := k.DeleteProfile("prod"); err != nil {
		t.Fatal(err)
	}
	left = stale()
	if err := v.removeIfEmpty(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removing the emptied file left the stale %s: %v", left, err)
	}
}
