package auth

import (
	"fmt"
	"net/http"
	"time"
)

// Error is a failed token request. Its text names the operation, the HTTP
// status and a short reason taken from the response, never a secret.
type Error struct {
	Op         string        // "acquire" or "refresh"
	Status     int           // HTTP status; 0 when no response arrived
	Reason     string        // short and redacted
	RetryAfter time.Duration // from a Retry-After header; 0 when absent
	Err        error         // the transport or decoding error, if any
}

func (e *Error) Error() string {
	switch {
	case e.Status != 0 && e.Reason != "":
		return fmt.Sprintf("%s: server answered %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), e.Reason)
	case e.Status != 0:
		return fmt.Sprintf("%s: server answered %d %s", e.Op, e.Status, http.StatusText(e.Status))
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Op, e.Err)
	default:
		return fmt.Sprintf("%s: %s", e.Op, e.Reason)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Rejected reports whether the server refused the credentials or the refresh
// token it was given, so that retrying the same request cannot help.
func (e *Error) Rejected() bool {
	return e.Status == http.StatusBadRequest || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}
