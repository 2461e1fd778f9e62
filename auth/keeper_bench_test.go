//go:build unix

package auth_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokentray/tokentray/auth"
)

// tinyIdentity is the cheapest server that speaks the identity protocol, so
// that the benchmarks measure the client side.
func tinyIdentity(lifetime time.Duration) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"accessToken":"at-%d","expiresIn":%d,"refreshToken":"rt-%d"}`, i, lifetime/time.Second, i)
	}))
	return srv, &n
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkKeeper10kProfiles keeps 10,000 profiles with 16 s tokens (a 1 s
// margin) against a loopback server for 20 s: the share of refreshes that
// came before the old token expired, the CPU per request compared with a
// bare net/http POST loop, and the memory per profile.
func BenchmarkKeeper10kProfiles(b *testing.B) {
	// All 10,000 are acquired at once, so the first round is a burst the
	// jitter (5% of the lifetime) spreads over 0.8 s; the server must drain
	// it before the tokens expire.
	const profiles, life, run = 10_000, 16 * time.Second, 20 * time.Second
	srv, requests := tinyIdentity(life)
	defer srv.Close()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}}

	var onTime, late, valid atomic.Int64
	for b.Loop() {
		var mu sync.Mutex
		expiry := make(map[string]time.Time, profiles)
		onEvent := func(e auth.Event) {
			if e.State != auth.StateValid {
				return
			}
			now := time.Now()
			mu.Lock()
			prev, seen := expiry[e.Profile]
			expiry[e.Profile] = e.Expiry
			mu.Unlock()
			switch {
			case !seen:
				valid.Add(1)
			case prev.Equal(e.Expiry):
			case now.Before(prev):
				onTime.Add(1)
			default:
				late.Add(1)
			}
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		flows := make(map[string]auth.Flow, profiles)
		for i := range profiles {
			f := identityFlow(srv.URL, auth.SystemClock)
			f.Client = client
			flows["p"+strconv.Itoa(i)] = f
		}
		k := auth.NewKeeper(newMemStore(nil), auth.KeeperOptions{OnEvent: onEvent, Margin: time.Second})
		k.Set(flows)
		for valid.Load() < profiles {
			time.Sleep(10 * time.Millisecond)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/profiles, "B/profile")

		startReq, startCPU := requests.Load(), cpuTime()
		time.Sleep(run)
		keptCPU, keptReq := cpuTime()-startCPU, requests.Load()-startReq
		k.Close()

		body := []byte(`{"clientKey":"key","clientSecret":"secret","deviceId":"3cfdef35-c7fe-4f2d-8630-1ec72f52b44d","deviceInfo":"e30=","networkType":"other","refreshToken":"rt"}`)
		const bare = 5000
		startCPU = cpuTime()
		var wg sync.WaitGroup
		for w := range 64 {
			wg.Go(func() {
				for i := w; i < bare; i += 64 {
					resp, err := client.Post(srv.URL+"/identity/v3/token/refresh", "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		bareCPU := cpuTime() - startCPU

		perKept := float64(keptCPU) / float64(keptReq)
		perBare := float64(bareCPU) / bare
		b.ReportMetric(float64(keptReq)/run.Seconds(), "refreshes/s")
		b.ReportMetric(perKept/1e3, "µs-CPU/refresh")
		b.ReportMetric(perBare/1e3, "µs-CPU/bare-POST")
		b.ReportMetric(perKept/perBare, "CPU-ratio")
	}
	if total := onTime.Load() + late.Load(); total > 0 {
		b.ReportMetric(100*float64(onTime.Load())/float64(total), "%-before-expiry")
	}
}

// countingClock counts the timer functions the Keeper gets called.
type countingClock struct{ fired atomic.Int64 }

func (c *countingClock) Now() time.Time { return time.Now() }

func (c *countingClock) AfterFunc(d time.Duration, f func()) auth.Stopper {
	return time.AfterFunc(d, func() { c.fired.Add(1); f() })
}

// BenchmarkKeeperIdleWakeups keeps 100 profiles whose tokens live an hour
// and counts, over 3 s of real time, how often the Keeper wakes up: a
// Keeper with nothing due must not wake at all.
func BenchmarkKeeperIdleWakeups(b *testing.B) {
	const idle = 3 * time.Second
	srv, _ := tinyIdentity(time.Hour)
	defer srv.Close()
	for b.Loop() {
		clock := &countingClock{}
		var valid atomic.Int64
		k := auth.NewKeeper(newMemStore(nil), auth.KeeperOptions{Clock: clock, OnEvent: func(e auth.Event) {
			if e.State == auth.StateValid {
				valid.Add(1)
			}
		}})
		flows := map[string]auth.Flow{}
		for i := range 100 {
			flows["p"+strconv.Itoa(i)] = identityFlow(srv.URL, auth.SystemClock)
		}
		k.Set(flows)
		for valid.Load() < 100 {
			time.Sleep(time.Millisecond)
		}
		start := clock.fired.Load()
		time.Sleep(idle)
		fires := clock.fired.Load() - start
		k.Close()
		b.ReportMetric(float64(fires)/idle.Minutes(), "wakeups/min")
		if fires != 0 {
			b.Errorf("%d wake-ups in %v with nothing due", fires, idle)
		}
	}
}
