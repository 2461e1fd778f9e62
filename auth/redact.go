package auth

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RedactedMark replaces whatever a Redactor cuts out.
const RedactedMark = "[redacted]"

// MinRedactedRun is the shortest run of a secret's characters a Redactor
// cuts out of text: a server or a log line may echo part of a secret (its
// first dozen characters), and 8 characters of a random secret occur
// nowhere else by chance.
const MinRedactedRun = 8

// Redactor cuts secrets out of text: from server answers before they become
// an error's reason, and from the agent's log lines. It catches a secret as
// it is, escaped (Go- or JSON-quoted, HTML, URL), encoded (base64 standard
// or URL, padded or not, and hex), and any run of MinRedactedRun or more of
// its characters in any of these forms. The zero value and nil redact
// nothing. It is safe for concurrent use.
type Redactor struct {
	// runs holds every MinRedactedRun-byte window of every secret's
	// spellings, as the little-endian number of its bytes.
	runs map[uint64]struct{}
	// short replaces the spellings and encodings of the secrets shorter
	// than MinRedactedRun, which runs cannot catch.
	short *strings.Replacer
}

// NewRedactor returns a Redactor of secrets; empty ones are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{runs: map[uint64]struct{}{}}
	var pairs []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range spellings(s) {
			for i := 0; i+MinRedactedRun <= len(form); i++ {
				r.runs[window(form[i:])] = struct{}{}
			}
		}
		if len(s) >= MinRedactedRun {
			continue // its encodings are found by decoding (Redact)
		}
		b := []byte(s)
		for _, form := range append(spellings(s),
			base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b))) {
			if !seen[form] {
				seen[form] = true
				pairs = append(pairs, form, RedactedMark)
			}
		}
	}
	if len(pairs) > 0 {
		r.short = strings.NewReplacer(pairs...)
	}
	return r
}

// spellings are the forms a secret takes in text: as is, Go-quoted,
// JSON-escaped, HTML-escaped and URL-encoded.
func spellings(s string) []string {
	js, _ := json.Marshal(s)
	forms := []string{
		s,
		strings.Trim(strconv.Quote(s), `"`),
		strings.Trim(string(js), `"`),
		html.EscapeString(s),
		url.QueryEscape(s),
		url.PathEscape(s),
	}
	slices.Sort(forms)
	return slices.Compact(forms)
}

// window is the first MinRedactedRun bytes of s as a map key.
func window(s string) uint64 {
	var w uint64
	for i := MinRedactedRun - 1; i >= 0; i-- {
		w = w<<8 | uint64(s[i])
	}
	return w
}

// Redact returns s with the secrets cut out, each stretch of them replaced
// by RedactedMark.
func (r *Redactor) Redact(s string) string {
	if r == nil || r.short == nil && len(r.runs) == 0 {
		return s
	}
	if r.short != nil {
		s = r.short.Replace(s)
	}
	if len(r.runs) == 0 {
		return s
	}
	var cut spans
	for i := 0; i+MinRedactedRun <= len(s); i++ {
		if r.has(window(s[i:])) {
			cut.add(i, i+MinRedactedRun)
		}
	}
	r.decoded(s, &cut)
	return cut.apply(s)
}

func (r *Redactor) has(w uint64) bool {
	_, ok := r.runs[w]
	return ok
}

// decoded finds runs of secrets inside base64 and hex in s: every stretch of
// base64 or hex characters is decoded at each alignment it may have, and
// the characters that encode a run of a secret are cut.
func (r *Redactor) decoded(s string, cut *spans) {
	// MinRedactedRun bytes take at least 11 base64 or 16 hex characters.
	for start, end := range stretches(s, isBase64, 11) {
		enc := strings.Map(func(c rune) rune { // URL alphabet to standard
			switch c {
			case '-':
				return '+'
			case '_':
				return '/'
			}
			return c
		}, s[start:end])
		for off := range 4 {
			t := enc[off:]
			if len(t)%4 == 1 {
				t = t[:len(t)-1] // no whole byte in it
			}
			plain, err := base64.RawStdEncoding.DecodeString(t)
			if err != nil {
				continue
			}
			for j := 0; j+MinRedactedRun <= len(plain); j++ {
				if r.has(binary.LittleEndian.Uint64(plain[j:])) {
					// Byte j is in the 4-character group j/3.
					from := start + off + j/3*4
					to := min(start+off+(j+MinRedactedRun-1)/3*4+4, end)
					if to == end {
						to += len(s[end:]) - len(strings.TrimLeft(s[end:], "="))
					}
					cut.add(from, to)
				}
			}
		}
	}
	for start, end := range stretches(s, isHex, 2*MinRedactedRun) {
		for off := range 2 {
			t := s[start+off : end]
			plain, err := hex.DecodeString(t[:len(t)&^1])
			if err != nil {
				continue
			}
			for j := 0; j+MinRedactedRun <= len(plain); j++ {
				if r.has(binary.LittleEndian.Uint64(plain[j:])) {
					cut.add(start+off+2*j, start+off+2*(j+MinRedactedRun))
				}
			}
		}
	}
}

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// stretches yields the start and end of every maximal stretch of s whose
// bytes all satisfy in, at least minLen long.
func stretches(s string, in func(byte) bool, minLen int) func(yield func(int, int) bool) {
	return func(yield func(int, int) bool) {
		for i := 0; i < len(s); {
			if !in(s[i]) {
				i++
				continue
			}
			j := i
			for j < len(s) && in(s[j]) {
				j++
			}
			if j-i >= minLen && !yield(i, j) {
				return
			}
			i = j
		}
	}
}

// spans are byte ranges of a string to cut, in the order found.
type spans [][2]int

func (c *spans) add(from, to int) { *c = append(*c, [2]int{from, to}) }

// apply replaces each stretch of overlapping or touching spans by one
// RedactedMark, widened to whole UTF-8 characters.
func (c spans) apply(s string) string {
	if len(c) == 0 {
		return s
	}
	for i := range c {
		for c[i][0] > 0 && !utf8.RuneStart(s[c[i][0]]) {
			c[i][0]--
		}
		for c[i][1] < len(s) && !utf8.RuneStart(s[c[i][1]]) {
			c[i][1]++
		}
	}
	slices.SortFunc(c, func(a, b [2]int) int { return a[0] - b[0] })
	var out strings.Builder
	last := 0
	for i := 0; i < len(c); {
		from, to := c[i][0], c[i][1]
		for i++; i < len(c) && c[i][0] <= to; i++ {
			to = max(to, c[i][1])
		}
		out.WriteString(s[last:from])
		out.WriteString(RedactedMark)
		last = to
	}
	out.WriteString(s[last:])
	return out.String()
}
