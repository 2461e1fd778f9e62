package localapi

import (
	"testing"
	"time"
)

func TestTimeLeft(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "1 s", 35 * time.Second: "35 s", 42*time.Minute + 59*time.Second: "42 min",
		65 * time.Minute: "65 min", 2 * time.Hour: "2 h", 47*time.Hour + 59*time.Minute: "47 h", 48 * time.Hour: "2 days",
	} {
		if got := TimeLeft(d); got != want {
			t.Errorf("TimeLeft(%v) = %q, want %q", d, got, want)
		}
	}
}
