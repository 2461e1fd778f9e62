package auth

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzNow = time.Date(2025, 9, 24, 12, 0, 0, 0, time.UTC)

// maxFuzzInput bounds the inputs explored. Go's fuzzer minimizes each new
// input at a cost that grows with the square of its length, so long ones
// stall it for minutes while adding no paths the parsers lack at 4 KB.
const maxFuzzInput = 4 << 10

// checkParsed holds what every token parser promises: a token or an error,
// never both, and a token that can be used and scheduled.
func checkParsed(t *testing.T, tok Token, err error) {
	t.Helper()
	if err != nil {
		if tok != (Token{}) {
			t.Fatalf("token %+v returned with error %v", tok, err)
		}
		return
	}
	if tok.AccessToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("parsed token %+v has no access token or no expiry", tok)
	}
}

// fuzzTokenParser fuzzes parse as decodeToken calls it for op, from the
// seed bodies, holding every result to checkParsed and then to check, if
// there is one.
func fuzzTokenParser(f *testing.F, op string, seeds []string, parse func([]byte) (Token, error), check func(*testing.T, Token, error)) {
	for _, s := range seeds {
		f.Add([]byte(s), "application/json")
	}
	f.Fuzz(func(t *testing.T, raw []byte, mediaType string) {
		if len(raw) > maxFuzzInput {
			return
		}
		tok, err := decodeToken(exchange{op: op}, raw, mediaType, parse)
		checkParsed(t, tok, err)
		if check != nil {
			check(t, tok, err)
		}
	})
}

func FuzzIdentityToken(f *testing.F) {
	flow := &IdentityFlow{Now: func() time.Time { return fuzzNow }}
	fuzzTokenParser(f, "acquire", []string{
		`{"accessToken":"a","expiresIn":1758732781,"refreshToken":"640b00c7-33d8-44f2-ab46-e3d1284a4061"}`,
		`{"accessToken":"eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDA2MDB9.sig","expiresIn":"3600"}`,
		`{"accessToken":"a","expiresIn":1e300}`,
		`{"accessToken":"a","expiresIn":0.5}`,
		`{"accessToken":null,"expiresIn":null}`,
		`{"accessToken":"a","expiresIn":"9007199254740993"}`,
		`[]`, `null`, ``, `{"accessToken":`,
	}, flow.parseToken, nil)
}

func FuzzWebToken(f *testing.F) {
	flow := &WebGrantFlow{Now: func() time.Time { return fuzzNow }}
	fuzzTokenParser(f, "refresh", []string{
		`{"access_token":"polar_at_x","token_type":"Bearer","expires_in":864000,"refresh_token":"polar_rt_x","scope":"openid email","id_token":"e.y.j"}`,
		`{"access_token":"polar_at_x","expires_in":"60","refresh_token":null}`,
		`{"access_token":"","expires_in":60}`,
		`{"access_token":"a","expires_in":-1}`,
		`{"access_token":"a","expires_in":9e15}`,
		`{"access_token":["a"],"expires_in":60}`,
		`<html>login</html>`, ``,
	}, flow.parseToken, func(t *testing.T, tok Token, err error) {
		if err == nil && tok.Expiry.Before(fuzzNow) {
			t.Fatalf("a positive expires_in gave an expiry %v in the past", tok.Expiry)
		}
	})
}

// fuzzSecret reports whether s looks like a real secret (base64, hex, UUID
// alphabets) long enough that finding it in a reason is a leak, not chance.
// The redaction marker itself is no leak.
func fuzzSecret(s string) bool {
	if len(s) < 8 || strings.Contains("[redacted]", s) {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~+/=", c)) {
			return false
		}
	}
	return true
}

func FuzzErrorBody(f *testing.F) {
	for _, s := range []struct{ body, ctype, secret string }{
		{`{"error":"invalid_grant","error_description":"token polar_rt_abcdefgh spent"}`, "application/json", "polar_rt_abcdefgh"},
		{`{"message":"bad secret CZuvCL49d9OwfGsR"}`, "", "CZuvCL49d9OwfGsR"},
		{`{"error":{"message":"quota"}}`, "", "xxxxxxxx"},
		{"<html><head><title>x</title></head><body><p>s3cr&#101;t99</p></body></html>", "text/html", "s3cret99"},
		{"a\tsecret\tb", "text/plain", "a secret"},
		{strings.Repeat("x", 75) + "abcdefghij", "", "abcdefghij"},
		{"\xff\xfe<", "text/html; charset=\"", "=+/-._~a"},
	} {
		f.Add([]byte(s.body), s.ctype, s.secret)
	}
	f.Fuzz(func(t *testing.T, body []byte, ctype, secret string) {
		if len(body) > maxFuzzInput {
			return
		}
		reason := errorReason(body, ctype, newRedactor(secret))
		if n := utf8.RuneCountInString(reason); n > maxReasonLen || !utf8.ValidString(reason) {
			t.Fatalf("reason %q: %d characters or not UTF-8", reason, n)
		}
		if fuzzSecret(secret) && strings.Contains(reason, secret) {
			t.Fatalf("reason %q contains the secret %q", reason, secret)
		}
		for _, op := range []string{"acquire", "refresh", "revoke"} {
			if a := oauthAction(op, 400, body); a != Reacquire && a != NeedsUser {
				t.Fatalf("%s 400 %s: %v", op, body, a)
			}
			if a := oauthAction(op, 503, body); a != RetryLater {
				t.Fatalf("%s 503 %s: %v, want retry later", op, body, a)
			}
		}
	})
}

func FuzzDeviceInfo(f *testing.F) {
	f.Add("eyJtb2RlbCI6ImRlc2t0b3AiLCJ2ZXJzaW9uIjoiQ2hyb21lIiwib3NOYW1lIjoiV2luZG93cyIsIm9zVmVyc2lvbiI6IjEwIn0=", "desktop", "Chrome", "Windows", "10")
	f.Add("e30=", "A&B", "<v>", "Mac OS", "14.5")
	f.Add("eyJtb2RlbCI6bnVsbH0=", "", "", "", "")
	f.Add("!!", "\u2028", "\"", "\\", "\x00")
	f.Fuzz(func(t *testing.T, encoded, model, version, osName, osVersion string) {
		if len(encoded)+len(model)+len(version)+len(osName)+len(osVersion) > maxFuzzInput {
			return
		}
		// Whatever decodes re-encodes to a value that decodes the same.
		if d, err := DecodeDeviceInfo(encoded); err == nil {
			back, err := DecodeDeviceInfo(d.Encode())
			if err != nil || back != d {
				t.Fatalf("%q decoded to %+v, which round-trips to %+v, %v", encoded, d, back, err)
			}
		}
		// Whatever encodes decodes back, as long as it is text: JSON
		// cannot carry invalid UTF-8.
		d := DeviceInfo{Model: model, Version: version, OSName: osName, OSVersion: osVersion}
		back, err := DecodeDeviceInfo(d.Encode())
		if err != nil {
			t.Fatalf("Encode(%+v) does not decode: %v", d, err)
		}
		valid := utf8.ValidString(model) && utf8.ValidString(version) && utf8.ValidString(osName) && utf8.ValidString(osVersion)
		if valid && back != d {
			t.Fatalf("Encode(%+v) decodes to %+v", d, back)
		}
	})
}
