package auth

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 9, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Wed, 24 Sep 2025 12:00:30 GMT", 30 * time.Second},
		{"Wednesday, 24-Sep-25 12:01:00 GMT", time.Minute}, // RFC 850, still legal
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestJWTExpiry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		token string
		want  int64 // 0: none
	}{
		{"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3NTg3MzI3ODF9.sig", 1758732781},    // {"exp":1758732781}
		{"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3NTg3MzI3ODEuNX0.sig", 1758732781}, // {"exp":1758732781.5}
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig", 0},                      // {"sub":"x"}
		{"eyJhbGciOiJIUzI1NiJ9.eyJleHAiOiJzb29uIn0.sig", 0},                  // {"exp":"soon"}
		{"640b00c7-33d8-44f2-ab46-e3d1284a4061", 0},
		{"a.b.c.d", 0},
		{"a.!!!.c", 0},
	} {
		got, ok := jwtExpiry(tc.token)
		if ok != (tc.want != 0) || ok && got.Unix() != tc.want {
			t.Errorf("jwtExpiry(%s) = %v, %v; want %d", tc.token, got.Unix(), ok, tc.want)
		}
	}
}

func TestErrorReason(t *testing.T) {
	t.Parallel()
	red := newRedactor("s3cr<e>t", "rt-1")
	for _, tc := range []struct{ name, body, ctype, want string }{
		{"message", `{"message":"Invalid client"}`, "application/json", "Invalid client"},
		{"oauth", `{"error":"invalid_grant","error_description":"token expired"}`, "", "invalid_grant: token expired"},
		{"nested", `{"error":{"code":7,"message":"quota"}}`, "", "quota"},
		{"html", "<html><head><title>x</title><style>p{}</style></head><body><h1>502 Bad&nbsp;Gateway</h1>\n<hr><center>nginx</center></body></html>", "text/html", "502 Bad Gateway nginx"},
		{"text", "upstream   timed\nout", "text/plain", "upstream timed out"},
		{"long", strings.Repeat("word ", 40), "text/plain", strings.Repeat("word ", 15) + "word…"},
		{"raw secret", "bad secret s3cr<e>t", "text/plain", "bad secret [redacted]"},
		{"secret in html", "<p>bad s3cr&lt;e&gt;t and rt-1</p>", "text/html", "bad [redacted] and [redacted]"},
		{"secret in json echo", `{"message":"got {\"clientSecret\":\"s3cr\u003ce\u003et\"}"}`, "", `got {"clientSecret":"[redacted]"}`},
		{"secret past the cut", strings.Repeat("x", 75) + "s3cr<e>t", "", strings.Repeat("x", 75) + "[red…"},
		// Numeric entities escape the pre-redaction; the secret appears only
		// after unescaping, and must go before the cut could halve it.
		{"entity secret past the cut", "<p>" + strings.Repeat("x", 75) + "s3cr&#60;e&#62;t</p>", "text/html", strings.Repeat("x", 75) + "[red…"},
	} {
		if got := errorReason([]byte(tc.body), tc.ctype, red); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
