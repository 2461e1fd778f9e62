package auth

import (
	"context"
	"fmt"
	"testing"
)

func TestStatusAction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		op     string
		status int
		want   Action
	}{
		{"acquire", 500, RetryLater}, {"refresh", 503, RetryLater}, {"acquire", 429, RetryLater}, {"refresh", 408, RetryLater},
		{"refresh", 400, Reacquire}, {"refresh", 401, Reacquire}, {"refresh", 403, Reacquire},
		{"acquire", 400, NeedsUser}, {"acquire", 401, NeedsUser}, {"acquire", 403, NeedsUser},
		{"acquire", 404, NeedsUser}, {"refresh", 404, NeedsUser}, {"acquire", 302, NeedsUser},
	} {
		if got := StatusAction(tc.op, tc.status); got != tc.want {
			t.Errorf("%s %d: %v, want %v", tc.op, tc.status, got, tc.want)
		}
	}
}

func TestActionOf(t *testing.T) {
	t.Parallel()
	wrapped := fmt.Errorf("profile p: %w", &Error{Op: "acquire", Status: 401, Action: NeedsUser})
	if got := ActionOf(wrapped); got != NeedsUser {
		t.Errorf("a wrapped *Error: %v, want %v", got, NeedsUser)
	}
	if got := ActionOf(context.DeadlineExceeded); got != RetryLater {
		t.Errorf("a timeout: %v, want %v", got, RetryLater)
	}
}
