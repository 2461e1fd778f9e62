package auth

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Action is what the caller of a flow should do about a failed request.
type Action int

const (
	// RetryLater: the network, a timeout, a 5xx or a 429. Back off (honouring
	// RetryAfter) and keep serving the last good token while it is valid.
	RetryLater Action = iota
	// Reacquire: the refresh token was refused. Acquire a new grant with the
	// stored credentials.
	Reacquire
	// NeedsUser: the credentials, the session token or the settings were
	// refused. Retrying cannot help; the user must change something.
	NeedsUser
)

func (a Action) String() string {
	switch a {
	case Reacquire:
		return "reacquire"
	case NeedsUser:
		return "needs user"
	default:
		return "retry later"
	}
}

// Error is a failed token request. Its text names the operation, the HTTP
// status and a short reason taken from the response, never a secret.
type Error struct {
	Op         string        // "acquire" or "refresh"
	Status     int           // HTTP status; 0 when no response arrived
	Reason     string        // short and redacted
	RetryAfter time.Duration // from a Retry-After header; 0 when absent
	Err        error         // the transport or decoding error, if any
	Action     Action        // what to do about it; see StatusAction
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

// StatusAction is the Action an HTTP error status calls for. A refused
// refresh may only mean the refresh token is spent, so it is re-acquired;
// a refused acquire means the credentials or the base URL are wrong.
func StatusAction(op string, status int) Action {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return RetryLater
	case op == "refresh" && (status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden):
		return Reacquire
	default:
		return NeedsUser
	}
}

// ActionOf is the Action err calls for. Errors that are not an *Error (a
// cancelled context, a store failure) are worth retrying.
func ActionOf(err error) Action {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Action
	}
	return RetryLater
}
