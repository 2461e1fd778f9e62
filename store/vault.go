package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/zalando/go-keyring"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store/privdir"
	"github.com/tokentray/tokentray/store/secretenv"
)

// The secrets file is the keychain of a machine without one (headless
// Linux, WSL), chosen in the settings, never as a fallback. It holds every
// entry in one sealed box:
//
//	magic    8 bytes  "TTSECRT1"
//	kdf      1 byte   1 = Argon2id
//	time     4 bytes  Argon2 passes, big-endian
//	memory   4 bytes  Argon2 memory in KiB, big-endian
//	threads  1 byte   Argon2 lanes
//	salt     16 bytes
//	check    32 bytes the second half of the derived key: tells a wrong
//	                  passphrase from a damaged file
//	nonce    24 bytes
//	body     XChaCha20-Poly1305 ciphertext of the entries as JSON, padded,
//	         with everything above as associated data
//
// So a change to any byte, header included, fails to open. Argon2id is
// slow on purpose; the key is kept per process (vaultKeys), and the salt
// stays with the file, so that only the first use in a process pays.
const (
	vaultMagic     = "TTSECRT1"
	vaultKDF       = 1
	vaultSaltSize  = 16
	vaultCheckSize = 32
	vaultHeaderLen = len(vaultMagic) + 1 + 4 + 4 + 1 + vaultSaltSize + vaultCheckSize + chacha20poly1305.NonceSizeX
	// vaultPad rounds the body up, so the file's size says little about
	// how long the secrets are.
	vaultPad = 1024
	// maxVaultFile bounds what is read, far above the entries' own bound.
	maxVaultFile = 64 << 20
)

// kdfParams are Argon2id's costs, written in each file's header.
type kdfParams struct {
	time    uint32
	memory  uint32 // KiB
	threads uint8
}

// defaultKDF is RFC 9106's second recommended option (64 MiB, 3 passes),
// about a fifth of a second on a laptop core.
var defaultKDF = kdfParams{time: 3, memory: 64 << 10, threads: 4}

// valid bounds a header's costs before they are used: the header is
// authenticated only by the key they derive, so a damaged one must not make
// a read allocate gigabytes or run for minutes.
func (p kdfParams) valid() bool {
	return p.time >= 1 && p.time <= 16 && p.threads >= 1 && p.threads <= 64 &&
		p.memory >= 8*uint32(p.threads) && p.memory <= 256<<10
}

// DefaultPassphraseEnv is the environment variable the secrets file's
// passphrase is taken from unless Settings.PassphraseEnv names another.
const DefaultPassphraseEnv = "TOKENTRAY_PASSPHRASE"

// Passphrase asks the person for the secrets file's passphrase, without
// echo; create is true when the file is about to be made, so the asker
// should have it typed twice.
type Passphrase func(create bool) (string, error)

// ErrWrongPassphrase is wrapped by the error for a passphrase that does not
// open the secrets file. The file is left as it was.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// ErrWeakPassphrase is wrapped by the error for a passphrase too short to
// make a new secrets file with. Nothing is written.
var ErrWeakPassphrase = errors.New("passphrase too short")

// MinPassphraseLen is the fewest characters a new secrets file's passphrase
// may have: the file can be copied and guessed at offline, where only the
// passphrase's length stands between a guesser and every secret. A file
// made before keeps opening with whatever it was made with.
const MinPassphraseLen = 12

// ErrNoPassphrase is wrapped by the error for a secrets file that needs its
// passphrase where there is neither the environment variable nor a terminal
// to ask on.
var ErrNoPassphrase = errors.New("no passphrase")

// vault implements go-keyring's Keyring with the secrets file, so that
// Keychain's chunking, errors and account layout serve both.
type vault struct {
	path string
	env  string     // the variable holding the passphrase
	ask  Passphrase // nil when there is no terminal
	kdf  kdfParams  // for a file made anew
}

var _ keyring.Keyring = (*vault)(nil)

// backendError is an error of the secrets file, or of settings that
// choose no usable backend. Its text names the file and what to do, so
// Keychain.explain passes it on instead of giving keychain advice.
type backendError struct{ err error }

func (e *backendError) Error() string { return e.err.Error() }
func (e *backendError) Unwrap() error { return e.err }

func (v *vault) fail(err error) error { return &backendError{err} }

// needsUser marks err as one that only the person can fix, so that the
// agent shows the profile as needing them instead of retrying.
func needsUser(err error) error {
	return &auth.Error{Op: "secrets file", Err: err, Action: auth.NeedsUser}
}

// vaultEntries are the file's content: service → account → value.
type vaultEntries map[string]map[string]string

// vaultKeys caches derived keys for the process's lifetime, by file and
// header (costs, salt and check), so that one passphrase is asked for and
// derived once however many Keychains a process makes.
var vaultKeys = struct {
	sync.Mutex
	m map[string]*[chacha20poly1305.KeySize]byte
}{m: map[string]*[chacha20poly1305.KeySize]byte{}}

// vaultHeader is a parsed header.
type vaultHeader struct {
	kdf   kdfParams
	salt  [vaultSaltSize]byte
	check [vaultCheckSize]byte
	nonce [chacha20poly1305.NonceSizeX]byte
}

func (h *vaultHeader) marshal() []byte {
	b := make([]byte, 0, vaultHeaderLen)
	b = append(b, vaultMagic...)
	b = append(b, vaultKDF)
	b = binary.BigEndian.AppendUint32(b, h.kdf.time)
	b = binary.BigEndian.AppendUint32(b, h.kdf.memory)
	b = append(b, h.kdf.threads)
	b = append(b, h.salt[:]...)
	b = append(b, h.check[:]...)
	return append(b, h.nonce[:]...)
}

// parseVaultHeader reads data's header; the caller reports a failure.
func parseVaultHeader(data []byte) (*vaultHeader, error) {
	if len(data) < vaultHeaderLen+chacha20poly1305.Overhead {
		return nil, errors.New("it is too short to be a Tokentray secrets file (cut short?)")
	}
	if string(data[:len(vaultMagic)]) != vaultMagic {
		return nil, errors.New("it is not a Tokentray secrets file, or one from a newer Tokentray")
	}
	rest := data[len(vaultMagic):]
	if rest[0] != vaultKDF {
		return nil, fmt.Errorf("it names key derivation %d, which this Tokentray does not know", rest[0])
	}
	h := &vaultHeader{kdf: kdfParams{
		time:    binary.BigEndian.Uint32(rest[1:5]),
		memory:  binary.BigEndian.Uint32(rest[5:9]),
		threads: rest[9],
	}}
	if !h.kdf.valid() {
		return nil, errors.New("its key derivation costs are out of range (damaged?)")
	}
	rest = rest[10:]
	rest = rest[copy(h.salt[:], rest):]
	rest = rest[copy(h.check[:], rest):]
	copy(h.nonce[:], rest)
	return h, nil
}

// derive turns a passphrase into the AEAD key and the check value.
func derive(passphrase string, kdf kdfParams, salt []byte) (key [chacha20poly1305.KeySize]byte, check [vaultCheckSize]byte) {
	out := argon2.IDKey([]byte(passphrase), salt, kdf.time, kdf.memory, kdf.threads, chacha20poly1305.KeySize+vaultCheckSize)
	copy(key[:], out)
	copy(check[:], out[chacha20poly1305.KeySize:])
	clear(out)
	return key, check
}

func (v *vault) cacheKey(h *vaultHeader) string {
	hdr := h.marshal()
	return v.path + "\x00" + string(hdr[:vaultHeaderLen-chacha20poly1305.NonceSizeX])
}

// key returns the key that opens a file with header h, asking for the
// passphrase unless this process already derived it.
func (v *vault) key(h *vaultHeader) (*[chacha20poly1305.KeySize]byte, error) {
	ck := v.cacheKey(h)
	vaultKeys.Lock()
	key := vaultKeys.m[ck]
	vaultKeys.Unlock()
	if key != nil {
		return key, nil
	}
	// A terminal gets three tries; the environment variable one.
	for try := 1; ; try++ {
		passphrase, fromEnv, err := v.passphrase(false)
		if err != nil {
			return nil, err
		}
		k, check := derive(passphrase, h.kdf, h.salt[:])
		if subtle.ConstantTimeCompare(check[:], h.check[:]) == 1 {
			vaultKeys.Lock()
			vaultKeys.m[ck] = &k
			vaultKeys.Unlock()
			return &k, nil
		}
		if fromEnv {
			return nil, needsUser(fmt.Errorf("%w: the passphrase in $%s does not open %s (or the file's header was damaged); set the right one and try again", ErrWrongPassphrase, v.env, v.path))
		}
		if try == 3 {
			return nil, needsUser(fmt.Errorf("%w: the passphrase typed does not open %s (or the file's header was damaged); nothing was changed", ErrWrongPassphrase, v.path))
		}
	}
}

// passphrase takes the passphrase from the environment or asks for it.
func (v *vault) passphrase(create bool) (p string, fromEnv bool, err error) {
	if p := secretenv.Lookup(v.env); p != "" {
		return p, true, nil
	}
	if v.ask == nil {
		return "", false, needsUser(fmt.Errorf("%w: %s is sealed with a passphrase; set it in $%s for this process (for the agent: in the environment it starts with), or run the command on a terminal to be asked", ErrNoPassphrase, v.path, v.env))
	}
	p, err = v.ask(create)
	if err != nil {
		return "", false, fmt.Errorf("asking for the passphrase of %s: %w", v.path, err)
	}
	if p == "" {
		return "", false, needsUser(fmt.Errorf("%w: the passphrase of %s is empty", ErrNoPassphrase, v.path))
	}
	return p, false, nil
}

// read returns the file's bytes, or nil when there is no file.
func (v *vault) read() ([]byte, error) {
	f, err := openShared(v.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxVaultFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxVaultFile {
		return nil, needsUser(fmt.Errorf("%s is larger than %d MB: not a file Tokentray wrote", v.path, maxVaultFile>>20))
	}
	return data, nil
}

// open parses and decrypts a file's bytes.
func (v *vault) open(data []byte) (*vaultHeader, vaultEntries, error) {
	h, err := parseVaultHeader(data)
	if err != nil {
		return nil, nil, needsUser(fmt.Errorf("%s cannot be read: %v; restore it from a backup, or move it away and add the profiles again", v.path, err))
	}
	key, err := v.key(h)
	if err != nil {
		return nil, nil, err
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, nil, err
	}
	plain, err := aead.Open(nil, h.nonce[:], data[vaultHeaderLen:], data[:vaultHeaderLen])
	if err != nil {
		return nil, nil, needsUser(fmt.Errorf("%w: %s does not match its checksum: it was changed or damaged since Tokentray wrote it; restore it from a backup, or move it away and add the profiles again", ErrDamaged, v.path))
	}
	defer clear(plain)
	entries := vaultEntries{}
	if err := json.Unmarshal(plain, &entries); err != nil {
		// Authenticated but not ours to read: a newer format. The cause
		// could quote a secret, so it is not passed on.
		return nil, nil, needsUser(fmt.Errorf("%s opens but its content is not what this Tokentray writes; upgrade Tokentray", v.path))
	}
	return h, entries, nil
}

// seal encrypts entries under header h, with a fresh nonce.
func (v *vault) seal(h *vaultHeader, key *[chacha20poly1305.KeySize]byte, entries vaultEntries) ([]byte, error) {
	plain, err := json.Marshal(entries)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	padded := make([]byte, (len(plain)/vaultPad+1)*vaultPad)
	defer clear(padded)
	copy(padded, plain)
	for i := len(plain); i < len(padded); i++ {
		padded[i] = ' ' // JSON ignores trailing white space
	}
	if _, err := rand.Read(h.nonce[:]); err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	hdr := h.marshal()
	return aead.Seal(hdr, h.nonce[:], padded, hdr), nil
}

// load returns the entries, or none when there is no file yet.
func (v *vault) load() (vaultEntries, error) {
	data, err := v.read()
	if err != nil || data == nil {
		return vaultEntries{}, err
	}
	_, entries, err := v.open(data)
	return entries, err
}

// vaultLockWait bounds the wait for another process's write, which takes
// milliseconds: the passphrase is never asked for while holding the lock.
const vaultLockWait = time.Minute

// update applies change to the entries under the file's lock and writes
// them back if change reports a change. The key is found before the lock is
// taken, so a process waiting at a passphrase prompt holds up no other.
func (v *vault) update(change func(vaultEntries) (bool, error)) error {
	// Another process making or replacing the file between the first read
	// and the lock sends this round again; a few rounds always suffice.
	for range 5 {
		data, err := v.read()
		if err != nil {
			return err
		}
		var h *vaultHeader
		var key *[chacha20poly1305.KeySize]byte
		if data == nil {
			// No file, and nothing to do: no passphrase to ask for.
			if changed, err := change(vaultEntries{}); !changed || err != nil {
				return err
			}
			h, key, err = v.create()
		} else if h, err = parseVaultHeader(data); err != nil {
			_, _, err = v.open(data) // for its message
		} else {
			key, err = v.key(h)
		}
		if err != nil {
			return err
		}
		done, err := v.updateLocked(h, key, data == nil, change)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("%s kept changing while Tokentray tried to write it; try again", v.path)
}

// create makes the header and key of a new file.
func (v *vault) create() (*vaultHeader, *[chacha20poly1305.KeySize]byte, error) {
	passphrase, fromEnv, err := v.passphrase(true)
	if err != nil {
		return nil, nil, err
	}
	if n := utf8.RuneCountInString(passphrase); n < MinPassphraseLen {
		from := "the passphrase typed"
		if fromEnv {
			from = "the passphrase in $" + v.env
		}
		return nil, nil, needsUser(fmt.Errorf("%w: %s has %d characters; a new secrets file %s needs at least %d (a few words make a good one); nothing was written", ErrWeakPassphrase, from, n, v.path, MinPassphraseLen))
	}
	h := &vaultHeader{kdf: v.kdf}
	if _, err := rand.Read(h.salt[:]); err != nil {
		return nil, nil, err
	}
	key, check := derive(passphrase, h.kdf, h.salt[:])
	h.check = check
	vaultKeys.Lock()
	vaultKeys.m[v.cacheKey(h)] = &key
	vaultKeys.Unlock()
	return h, &key, nil
}

// updateLocked does update's work under the lock if the file is still as
// update found it: missing for a fresh header, else with header h. done is
// false when it was not.
func (v *vault) updateLocked(h *vaultHeader, key *[chacha20poly1305.KeySize]byte, fresh bool, change func(vaultEntries) (bool, error)) (done bool, err error) {
	if err := privdir.EnsureConfig(filepath.Dir(v.path)); err != nil {
		return false, err
	}
	// The lock file stays for good: deleting it while another process
	// waits on it would let two writers in.
	lock := privdir.FileLock(v.path + ".lock")
	ctx, cancel := context.WithTimeout(context.Background(), vaultLockWait)
	defer cancel()
	if _, err := lock.TryLockContext(ctx, lockRetry); err != nil {
		return false, fmt.Errorf("waiting for the lock of %s (another Tokentray process holds it): %w", v.path, err)
	}
	defer lock.Close()
	data, err := v.read()
	if err != nil {
		return false, err
	}
	entries := vaultEntries{}
	switch {
	case fresh != (data == nil):
		return false, nil
	case !fresh:
		cur, err := parseVaultHeader(data)
		if err != nil || v.cacheKey(cur) != v.cacheKey(h) {
			return false, nil
		}
		if _, entries, err = v.open(data); err != nil {
			return false, err
		}
	}
	changed, err := change(entries)
	if err != nil || !changed {
		return true, err
	}
	sealed, err := v.seal(h, key, entries)
	if err != nil {
		return false, err
	}
	if err := writeAtomic(v.path, sealed); err != nil {
		return true, err
	}
	// What a writer killed before its rename left is sealed, but would
	// pile up.
	removeStaleTemps(v.path)
	return true, nil
}

// Get returns the value at service and user.
func (v *vault) Get(service, user string) (string, error) {
	entries, err := v.load()
	if err != nil {
		return "", v.fail(err)
	}
	value, ok := entries[service][user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return value, nil
}

// Set stores password at service and user, replacing any value there.
func (v *vault) Set(service, user, password string) error {
	return v.write(func(entries vaultEntries) (bool, error) {
		if entries[service] == nil {
			entries[service] = map[string]string{}
		}
		entries[service][user] = password
		return true, nil
	})
}

// Delete removes the value at service and user.
func (v *vault) Delete(service, user string) error {
	found := false
	err := v.write(func(entries vaultEntries) (bool, error) {
		if _, found = entries[service][user]; !found {
			return false, nil
		}
		delete(entries[service], user)
		if len(entries[service]) == 0 {
			delete(entries, service)
		}
		return true, nil
	})
	if err == nil && !found {
		return keyring.ErrNotFound
	}
	return err
}

// DeleteAll removes every value of service.
func (v *vault) DeleteAll(service string) error {
	return v.write(func(entries vaultEntries) (bool, error) {
		_, found := entries[service]
		delete(entries, service)
		return found, nil
	})
}

func (v *vault) write(change func(vaultEntries) (bool, error)) error {
	if err := v.update(change); err != nil {
		return v.fail(err)
	}
	return nil
}

// accounts lists the accounts of service, sorted.
func (v *vault) accounts(service string) ([]string, error) {
	entries, err := v.load()
	if err != nil {
		return nil, v.fail(err)
	}
	accounts := make([]string, 0, len(entries[service]))
	for a := range entries[service] {
		accounts = append(accounts, a)
	}
	sort.Strings(accounts)
	return accounts, nil
}

// removeIfEmpty deletes the file when it holds no entry, under its lock so
// that no write in flight is lost, and what killed writers left beside it.
func (v *vault) removeIfEmpty() error {
	defer removeStaleTemps(v.path)
	data, err := v.read()
	if err != nil || data == nil {
		return err
	}
	h, err := parseVaultHeader(data)
	if err != nil {
		return nil // not empty as far as anyone can tell: kept
	}
	key, err := v.key(h)
	if err != nil {
		return err
	}
	_, err = v.updateLocked(h, key, false, func(entries vaultEntries) (bool, error) {
		if len(entries) == 0 {
			return false, os.Remove(v.path)
		}
		return false, nil
	})
	return err
}

// TakePassphrase takes the secrets file's passphrase out of this process's
// environment, from the variable the settings at configPath name (the
// default one when they cannot be read), so that no process started from
// here inherits it; it stays readable here (secretenv.Lookup). The agent
// and the window call it once at start.
func TakePassphrase(configPath string) string {
	name := DefaultPassphraseEnv
	if cfg, err := Load(configPath); err == nil {
		name = cfg.Settings.PassphraseVar()
	}
	return secretenv.Take(name)
}
