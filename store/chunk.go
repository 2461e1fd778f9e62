package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/zalando/go-keyring"
)

// A value larger than the platform's keychain takes in one entry (Windows
// Credential Manager: 2,560 bytes; macOS: about 2.9 KB, see platformLimit)
// is stored as chunks. The entry at the value's own account then holds a
// header naming the chunks:
//
//	tokentray/chunked v1 gen=G chunks=N bytes=B sha256=HEX
//
// and the chunks live at ACCOUNT/chunk/G/0 … ACCOUNT/chunk/G/N-1. A write
// puts the chunks of the other generation first and the header last, so
// the header switches from the old value to the new one in one write, and
// only then deletes the old generation. A crash midway leaves the old
// header naming the old, intact chunks. A header whose chunks are missing
// or do not join to its size and SHA-256 is reported as ErrDamaged, never
// read as a value.
//
// The keychain cannot list entries, so what a crash leaves behind must sit
// where the next write looks: generations alternate between 1 and 2, and
// the chunks of a generation always form a prefix 0 … K-1 (written in
// ascending order, deleted in descending order). Every successful write
// then clears both generations of all but the value it wrote (where values
// have no size limit, only when the old or the new value is chunked).
const chunkMagic = "tokentray/chunked v1 "

// Bounds that a header read back must respect, so a damaged one cannot
// make a read fetch thousands of entries. Tokens are a few KB.
const (
	maxChunkedValue = 1 << 20
	maxChunks       = 1024
)

// ErrDamaged is wrapped by the error for a chunked keychain value whose
// chunks are missing or do not match the checksum in its header. Saving
// the value again replaces it.
var ErrDamaged = errors.New("keychain entry is damaged")

// chunkHeader is the entry at a chunked value's own account.
type chunkHeader struct {
	gen    uint64 // generation: 1 or 2, the other one than the value it replaced
	chunks int
	size   int
	sum    [sha256.Size]byte
}

func (h chunkHeader) String() string {
	return fmt.Sprintf("%sgen=%d chunks=%d bytes=%d sha256=%x", chunkMagic, h.gen, h.chunks, h.size, h.sum)
}

// parseChunkHeader reports whether v is a header at all (it starts with
// chunkMagic) and, if it is, whether it is a well-formed one.
func parseChunkHeader(v string) (h chunkHeader, isHeader, ok bool) {
	rest, isHeader := strings.CutPrefix(v, chunkMagic)
	if !isHeader {
		return chunkHeader{}, false, false
	}
	fields := strings.Split(rest, " ")
	if len(fields) != 4 {
		return chunkHeader{}, true, false
	}
	var nums [3]uint64
	for i, key := range []string{"gen=", "chunks=", "bytes="} {
		s, found := strings.CutPrefix(fields[i], key)
		n, err := strconv.ParseUint(s, 10, 64)
		if !found || err != nil {
			return chunkHeader{}, true, false
		}
		nums[i] = n
	}
	sum, found := strings.CutPrefix(fields[3], "sha256=")
	raw, err := hex.DecodeString(sum)
	if !found || err != nil || len(raw) != sha256.Size {
		return chunkHeader{}, true, false
	}
	if nums[0] < 1 || nums[1] < 1 || nums[1] > maxChunks || nums[2] < nums[1] || nums[2] > maxChunkedValue {
		return chunkHeader{}, true, false
	}
	h = chunkHeader{gen: nums[0], chunks: int(nums[1]), size: int(nums[2])}
	copy(h.sum[:], raw)
	// Only the exact form this code writes counts ("gen=01", upper-case
	// hex and the like are not), so one value has one header.
	return h, true, h.String() == v
}

func chunkAccount(account string, gen uint64, i int) string {
	return fmt.Sprintf("%s/chunk/%d/%d", account, gen, i)
}

// splitChunks cuts v into pieces of at most limit bytes. It cuts on a rune
// boundary, so each piece of a UTF-8 value is UTF-8 too (keychains label
// entries as text), but steps back at most three bytes, so a value that is
// not UTF-8 is still cut and every piece is non-empty.
func splitChunks(v string, limit int) []string {
	var parts []string
	for len(v) > 0 {
		n := min(limit, len(v))
		for back := 0; n < len(v) && n > 1 && back < utf8.UTFMax-1 && !utf8.RuneStart(v[n]); back++ {
			n--
		}
		parts = append(parts, v[:n])
		v = v[n:]
	}
	return parts
}

// backend is go-keyring, each call within its deadline, unless a test gave
// the Keychain another.
func (k Keychain) backend() keyring.Keyring {
	if k.kr != nil {
		return k.kr
	}
	return bounded{kr: goKeyring{}, start: startKeychain}
}

// goKeyring calls go-keyring's package functions, which honour
// keyring.MockInit.
type goKeyring struct{}

func (goKeyring) Set(service, user, password string) error {
	return keyring.Set(service, user, password)
}
func (goKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (goKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }
func (goKeyring) DeleteAll(service string) error           { return keyring.DeleteAll(service) }

// entryLimit is the largest value stored in one entry at account; zero
// means no limit.
func (k Keychain) entryLimit(account string) int {
	if k.limit > 0 {
		return k.limit
	}
	// The longest chunk account stands for all of them.
	return platformLimit(k.service(), chunkAccount(account, 1<<63, maxChunks))
}

// header reads the entry at account and returns the chunk header it holds,
// if it holds one. A missing entry is no header and no error. secret is the
// value about to be saved, if any, for explain.
func (k Keychain) header(op, account, secret string) (chunkHeader, bool, error) {
	v, err := k.backend().Get(k.service(), account)
	if errors.Is(err, keyring.ErrNotFound) {
		return chunkHeader{}, false, nil
	}
	if err != nil {
		return chunkHeader{}, false, k.explain(op, account, err, secret)
	}
	h, _, ok := parseChunkHeader(v)
	return h, ok, nil
}

// nextGen is the generation a chunked value replacing one of generation
// prev is written in; prev is 0 when the value replaced is not chunked.
// Headers of older builds counted up without bound: they are replaced by
// generation 1 too.
func nextGen(prev uint64) uint64 {
	if prev == 1 {
		return 2
	}
	return 1
}

func (k Keychain) set(account, value string) error {
	prev, chunked, err := k.header("save", account, value)
	if err != nil {
		return err
	}
	limit := k.entryLimit(account)
	// A value that looks like a header is stored chunked too, so that a
	// header-shaped entry is always a header.
	if (limit == 0 || len(value) <= limit) && !strings.HasPrefix(value, chunkMagic) {
		if err := k.backend().Set(k.service(), account, value); err != nil {
			return k.explain("save", account, err, value)
		}
		k.tidy(account, prev, chunked, 0, 0)
		return nil
	}
	if limit == 0 {
		limit = maxChunkedValue // only a header-shaped value gets here: one chunk
	}
	parts := splitChunks(value, limit)
	if len(value) > maxChunkedValue || len(parts) > maxChunks {
		return fmt.Errorf("keychain (service %q): save %q: the value (%d bytes) is too large: Tokentray stores at most %d bytes", k.service(), account, len(value), maxChunkedValue)
	}
	h := chunkHeader{gen: 1, chunks: len(parts), size: len(value), sum: sha256.Sum256([]byte(value))}
	if chunked {
		h.gen = nextGen(prev.gen)
	}
	for i, p := range parts {
		if err := k.backend().Set(k.service(), chunkAccount(account, h.gen, i), p); err != nil {
			k.clearChunks(account, h.gen, 0, i)
			return k.explain("save", account, err, value)
		}
	}
	if err := k.backend().Set(k.service(), account, h.String()); err != nil {
		k.clearChunks(account, h.gen, 0, len(parts))
		return k.explain("save", account, err, value)
	}
	k.tidy(account, prev, chunked, h.gen, len(parts))
	return nil
}

// tidy runs after a write put its value in place: it deletes every chunk
// but the first chunks of generation gen (0: none), which the new value
// uses: the replaced value's, and any a write cut short left behind.
// Failures leave only entries no header names, so they are not reported.
func (k Keychain) tidy(account string, prev chunkHeader, chunked bool, gen uint64, chunks int) {
	if !chunked && gen == 0 && k.entryLimit(account) == 0 {
		// No limit (the Secret Service): only a value shaped like a header
		// is ever chunked, so a plain value replacing a plain one skips
		// the two lookups below, a third of the cost of a write.
		return
	}
	if chunked && prev.gen != gen {
		k.clearChunks(account, prev.gen, 0, prev.chunks)
	}
	for _, g := range []uint64{1, 2} {
		switch {
		case g == gen:
			k.clearChunks(account, g, chunks, chunks)
		case !chunked || g != prev.gen: // prev.gen's are gone already
			k.clearChunks(account, g, 0, 0)
		}
	}
}

// clearChunks deletes the chunks of generation gen from index from on, the
// last first, so that a crash midway leaves a prefix where the next
// clearing finds it. Chunks from … known-1 are known to exist; beyond
// them it looks for more, left by a write that was cut short. It returns
// the first error that is not "already gone".
func (k Keychain) clearChunks(account string, gen uint64, from, known int) error {
	end := known
	for end < maxChunks {
		if _, err := k.backend().Get(k.service(), chunkAccount(account, gen, end)); err != nil {
			break
		}
		end++
	}
	var first error
	for i := end - 1; i >= from; i-- {
		err := k.backend().Delete(k.service(), chunkAccount(account, gen, i))
		if err != nil && !errors.Is(err, keyring.ErrNotFound) && first == nil {
			first = err
		}
	}
	return first
}

func (k Keychain) get(account string) (string, error) {
	var last chunkHeader
	for attempt := 0; ; attempt++ {
		v, err := k.backend().Get(k.service(), account)
		if err != nil {
			return "", k.explain("read", account, err, "")
		}
		h, isHeader, ok := parseChunkHeader(v)
		if !isHeader {
			return v, nil
		}
		if !ok {
			return "", k.damaged(account)
		}
		value, whole, err := k.joinChunks(account, h)
		if err != nil || whole {
			return value, err
		}
		// Another process may have switched to a new generation and
		// deleted this one between the reads: look once more, and call it
		// damaged only when the header stays the same.
		if attempt > 0 && h == last || attempt == 3 {
			return "", k.damaged(account)
		}
		last = h
	}
}

// joinChunks reads the chunks h names. whole is false when one is missing
// or they do not add up to h's size and checksum.
func (k Keychain) joinChunks(account string, h chunkHeader) (value string, whole bool, err error) {
	var b bytes.Buffer
	b.Grow(h.size)
	for i := range h.chunks {
		part, err := k.backend().Get(k.service(), chunkAccount(account, h.gen, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, k.explain("read", account, err, "")
		}
		if part == "" || b.Len()+len(part) > h.size {
			return "", false, nil
		}
		b.WriteString(part)
	}
	if b.Len() != h.size || sha256.Sum256(b.Bytes()) != h.sum {
		return "", false, nil
	}
	return b.String(), true, nil
}

func (k Keychain) damaged(account string) error {
	return fmt.Errorf("keychain (service %q): read %q: %w: its chunks are missing or do not match its checksum (another program changed them, or a write was cut short); save it again to replace it", k.service(), account, ErrDamaged)
}

func (k Keychain) delete(account string) error {
	h, chunked, err := k.header("delete", account, "")
	if err != nil {
		return err
	}
	// Chunks first, header last: if this stops midway, the header still
	// names the chunks, so deleting again finishes the job.
	if chunked {
		if err := k.clearChunks(account, h.gen, 0, h.chunks); err != nil {
			return k.explain("delete", account, err, "")
		}
	}
	for _, g := range []uint64{1, 2} {
		if chunked && g != h.gen || !chunked && k.entryLimit(account) > 0 {
			k.clearChunks(account, g, 0, 0) // what writes cut short left (see tidy)
		}
	}
	return k.explain("delete", account, k.backend().Delete(k.service(), account), "")
}
