package ui

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// claim is one claim of a JWT, worded for reading.
type claim struct {
	Name, Value string
}

// firstClaims come first, in this order, as RFC 7519 lists them; the rest
// follow by name.
var firstClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// timeClaims are NumericDate claims, shown with their date too.
var timeClaims = []string{"exp", "nbf", "iat", "auth_time", "updated_at"}

// errNotJWT means the access token is opaque: it has no claims to show.
var errNotJWT = errors.New("this access token is not a JWT, so it has no claims to show")

// decodeClaims reads the payload of a JWT for display. The signature is
// not verified (the window has no key to verify it with), so the claims
// are what the token says, not what is proven.
func decodeClaims(token string, loc *time.Location) ([]claim, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("%w (its payload is not base64url: %v)", errNotJWT, err)
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("%w (its payload is not a JSON object: %v)", errNotJWT, err)
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(firstClaims, a), slices.Index(firstClaims, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	out := make([]claim, 0, len(names))
	for _, name := range names {
		out = append(out, claim{name, claimValue(name, fields[name], loc)})
	}
	return out, nil
}

// shortJSON is how long a structured claim may be and stay on one line.
const shortJSON = 60

// claimValue words a raw claim: strings without quotes, NumericDates with
// their date, anything else as JSON, indented when it is long.
func claimValue(name string, raw json.RawMessage, loc *time.Location) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if slices.Contains(timeClaims, name) && json.Unmarshal(raw, &n) == nil {
		if secs, err := n.Int64(); err == nil {
			return fmt.Sprintf("%d (%s)", secs, time.Unix(secs, 0).In(loc).Format("Mon 2 Jan 2006 15:04:05 MST"))
		}
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) != nil {
		return string(raw)
	}
	if compact.Len() <= shortJSON {
		return compact.String()
	}
	var indented bytes.Buffer
	_ = json.Indent(&indented, compact.Bytes(), "", "  ") // compact is valid JSON
	return indented.String()
}
