package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokentray/tokentray/auth"
)

// redactSecret's standard and URL base64 differ, so both alphabets are
// tried.
const redactSecret = "k9?>s3cr~t?Zt8qL2vXw9RkP4"

// leftOf reports the longest run of secret's characters left in out.
func leftOf(out, secret string) string {
	longest := ""
	for i := range secret {
		for j := i + len(longest) + 1; j <= len(secret); j++ {
			if !strings.Contains(out, secret[i:j]) {
				break
			}
			longest = secret[i:j]
		}
	}
	return longest
}

// Every form of a secret is caught: whole or any run of 8 or more of its
// characters, as is or escaped, and base64 (standard and URL, padded or
// not) or hex of it or of a part of it, alone or in other text.
func TestRedactorCatchesEveryForm(t *testing.T) {
	t.Parallel()
	s := redactSecret
	b := []byte(s)
	if base64.StdEncoding.EncodeToString(b) == base64.URLEncoding.EncodeToString(b) {
		t.Fatal("the test secret's base64 alphabets do not differ")
	}
	forms := map[string]string{
		"whole":                   s,
		"first 12":                s[:12],
		"middle 8":                s[5:13],
		"last 9":                  s[len(s)-9:],
		"JSON-escaped":            strings.Trim(must(json.Marshal(s)), `"`),
		"URL-encoded":             "q=" + strings.ReplaceAll(s, "?", "%3F"),
		"base64":                  base64.StdEncoding.EncodeToString(b),
		"base64 unpadded":         base64.RawStdEncoding.EncodeToString(b),
		"base64 URL":              base64.URLEncoding.EncodeToString(b),
		"base64 URL unpadded":     base64.RawURLEncoding.EncodeToString(b),
		"base64 of the first 12":  base64.StdEncoding.EncodeToString(b[:12]),
		"base64 of the middle 10": base64.RawURLEncoding.EncodeToString(b[7:17]),
		"basic auth":              "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("client:"+s)),
		"base64 glued to words":   "id=abc" + base64.RawStdEncoding.EncodeToString([]byte("x"+s)) + "def",
		"hex":                     hex.EncodeToString(b),
		"HEX":                     strings.ToUpper(hex.EncodeToString(b)),
		"hex of the middle 8":     "0x" + hex.EncodeToString(b[9:17]) + "0",
	}
	r := auth.NewRedactor(s, "rt-1")
	for name, form := range forms {
		out := r.Redact("before " + form + " after")
		if strings.Contains(out, form) || !strings.Contains(out, auth.RedactedMark) {
			t.Errorf("%s: %q redacts to %q", name, form, out)
		}
		if left := leftOf(out, s); len(left) >= auth.MinRedactedRun {
			t.Errorf("%s: %q is left in %q", name, left, out)
		}
		if !strings.HasPrefix(out, "before ") || !strings.HasSuffix(out, " after") {
			t.Errorf("%s: the text around was cut too: %q", name, out)
		}
	}
	// A secret shorter than a run is caught whole, in each encoding.
	for _, form := range []string{"rt-1", "cnQtMQ==", "cnQtMQ", "72742d31", "72742D31"} {
		if out := r.Redact("x " + form + " y"); out != "x "+auth.RedactedMark+" y" {
			t.Errorf("the short secret as %q redacts to %q", form, out)
		}
	}
	// Text with no secret, base64 and hex among it, stays as it is.
	plain := "request 5f2b9c1e8d7a4b3c failed: c2VydmVyIGJ1c3k= (server busy), näive ünïcode"
	if out := r.Redact(plain); out != plain {
		t.Errorf("text with no secret changed: %q became %q", plain, out)
	}
}

func must(b []byte, err error) string {
	if err != nil {
		panic(err)
	}
	return string(b)
}

// A 401 whose message echoes the first 12 characters of the client secret
// and its base64 and hex gives an error with none of them.
func TestPartialAndEncodedEchoInError(t *testing.T) {
	t.Parallel()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"message": "bad secret " + redactSecret[:12] + "… (" +
			base64.StdEncoding.EncodeToString([]byte(redactSecret)) + ", " + hex.EncodeToString([]byte(redactSecret)) + ")"})
	}))
	defer s.Close()
	flow := newFlow(s.URL)
	flow.ClientSecret = redactSecret
	_, err := flow.Acquire(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	if left := leftOf(err.Error(), redactSecret); len(left) >= auth.MinRedactedRun {
		t.Errorf("the error %q holds %q of the secret", err, left)
	}
	for _, enc := range []string{base64.StdEncoding.EncodeToString([]byte(redactSecret))[:8], hex.EncodeToString([]byte(redactSecret))[:8]} {
		if strings.Contains(err.Error(), enc) {
			t.Errorf("the error %q holds the encoded secret", err)
		}
	}
	if !strings.Contains(err.Error(), "bad secret") {
		t.Errorf("the error %q lost the server's words", err)
	}
}
