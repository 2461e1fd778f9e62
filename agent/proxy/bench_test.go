package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkProxiedVsDirect sends b.N small requests from 16 concurrent
// keep-alive clients straight to a loopback upstream and b.N through the
// proxy, in alternating rounds so that load from elsewhere hits both
// alike, and reports the proxied throughput as a share of the direct one,
// the median latency the proxy adds, and the heap and RSS after the run
// against before it. The upstream answers at once, or after 1 ms as an
// API that does some work; with an instant one on a 2-core machine the
// proxy's HTTP work competes with the client's and the upstream's.
//
//	go test -run - -bench ProxiedVsDirect -benchtime 20000x ./agent/proxy
func BenchmarkProxiedVsDirect(b *testing.B) {
	for _, work := range []time.Duration{0, time.Millisecond} {
		b.Run("upstream="+work.String(), func(b *testing.B) { benchProxy(b, work) })
	}
}

func benchProxy(b *testing.B, work time.Duration) {
	const clients, rounds = 16, 4
	body := strings.Repeat("x", 512)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if work > 0 {
			time.Sleep(work)
		}
		io.WriteString(w, body)
	}))
	defer upstream.Close()
	proxyURL := start(b, upstream.URL, &fakeTokens{}, Options{})

	run := func(url string, n int) (elapsed time.Duration, latencies []time.Duration) {
		transport := &http.Transport{MaxIdleConnsPerHost: clients}
		defer transport.CloseIdleConnections()
		client := &http.Client{Transport: transport}
		var next atomic.Int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		begin := time.Now()
		for range clients {
			wg.Go(func() {
				var mine []time.Duration
				for next.Add(1) <= int64(n) {
					t0 := time.Now()
					resp, err := client.Get(url + "/x")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		return time.Since(begin), latencies
	}
	// Warm both paths up: connections, buffers, the token.
	run(upstream.URL, clients*10)
	run(proxyURL, clients*10)
	runtime.GC()
	debug.FreeOSMemory()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := rssKiB(b)

	b.ResetTimer()
	var directTime, proxiedTime time.Duration
	var direct, proxied []time.Duration
	for range rounds {
		elapsed, lat := run(upstream.URL, b.N/rounds)
		directTime, direct = directTime+elapsed, append(direct, lat...)
		elapsed, lat = run(proxyURL, b.N/rounds)
		proxiedTime, proxied = proxiedTime+elapsed, append(proxied, lat...)
	}
	b.StopTimer()

	runtime.GC()
	debug.FreeOSMemory()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(directTime.Seconds()/proxiedTime.Seconds(), "throughput-ratio")
	b.ReportMetric(float64(median(proxied)-median(direct))/1e3, "added-median-µs")
	b.ReportMetric(float64(b.N)/proxiedTime.Seconds(), "proxied-req/s")
	b.ReportMetric(float64(b.N)/directTime.Seconds(), "direct-req/s")
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/1024, "heap-growth-KiB")
	b.ReportMetric(float64(rssKiB(b)-rssBefore), "rss-growth-KiB")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// rssKiB is this process's resident set, from /proc (0 elsewhere).
func rssKiB(b *testing.B) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
