package localapi

import (
	"fmt"
	"time"
)

// TimeLeft says how long d is, as precisely as a menu or a list needs:
// seconds under a minute, minutes under two hours, then hours, then days.
// It rounds down, so a token never seems to live longer than it does. The
// window uses it too, so both read alike.
func TimeLeft(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", max(int(d/time.Second), 1))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
}
