package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

const bigBody = 100 << 20

// heapWatch samples the heap until stopped and returns the most in use.
func heapWatch() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak }
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// 100 MB go up and 100 MB come down through the proxy while the heap
// grows by a small fraction of that: bodies stream, they are not held.
func TestStreamsLargeBodies(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			fmt.Fprint(w, n)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(bigBody))
		io.Copy(w, io.LimitReader(zeros{}, bigBody))
	}))
	defer upstream.Close()
	proxyURL := start(t, upstream.URL, &fakeTokens{}, Options{})

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapWatch()
	// No Content-Length: the upload goes chunked, as a streaming client's.
	resp, err := http.Post(proxyURL+"/up", "application/octet-stream", io.NopCloser(io.LimitReader(zeros{}, bigBody)))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != strconv.Itoa(bigBody) {
		t.Errorf("upload: the upstream read %s bytes; want %d", got, bigBody)
	}
	resp, err = http.Get(proxyURL + "/down")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != bigBody || err != nil {
		t.Errorf("download: %d bytes, %v; want %d", n, err, bigBody)
	}
	peak := stop()
	if grew := int64(peak) - int64(before.HeapInuse); grew > 16<<20 {
		t.Errorf("the heap grew by %d MiB while 2×100 MiB passed; want under 16 MiB", grew>>20)
	} else {
		t.Logf("heap in use grew by %d KiB at most", grew>>10)
	}
}
