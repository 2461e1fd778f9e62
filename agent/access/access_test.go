package access

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The file is 0600, keeps its records across a reopen, and drops the
// oldest quarter when full.
func TestLogIsBoundedAndPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokentray", "access.jsonl")
	l := Open(path)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range MaxRecords - 1 {
		if _, err := l.Add(Record{Time: at, Profile: fmt.Sprint("p", i%2), Channel: ChannelToken, PID: i + 1, Exe: "/bin/sh"}); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Fatalf("access log: %v, %v; want mode 0600", fi.Mode(), err)
	}
	// A new agent appends to what the last one left.
	l = Open(path)
	for _, pid := range []int{MaxRecords, MaxRecords + 1} {
		if _, err := l.Add(Record{Time: at, Profile: "p1", Channel: ChannelProxy, PID: pid}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := Read(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := MaxRecords - MaxRecords/4 + 1; len(all) != want || all[0].PID != MaxRecords/4+1 || all[len(all)-1].PID != MaxRecords+1 {
		t.Errorf("after %d records: %d kept, pids %d…%d; want the newest %d", MaxRecords+1, len(all), all[0].PID, all[len(all)-1].PID, want)
	}
	if fi, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("access log after dropping: %v, %v; want mode 0600", fi.Mode(), err)
	}
	p0, _ := Read(path, "p0")
	for _, r := range p0 {
		if r.Profile != "p0" {
			t.Fatalf("Read of p0 returned %+v", r)
		}
	}
	if len(p0) == 0 || len(p0) >= len(all) {
		t.Errorf("Read of p0: %d of %d records", len(p0), len(all))
	}
}

// A line cut short by a crash is skipped, and the next record is whole.
func TestTornLineSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.jsonl")
	os.WriteFile(path, []byte(`{"time":"2026-01-02T03:04:05Z","profile":"a","channel":"token"}`+"\n"+`{"time":"2026-01-0`), 0o600)
	if _, err := Open(path).Add(Record{Profile: "b", Channel: ChannelCopy}); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path, "")
	if err != nil || len(got) != 1 || got[0].Profile != "a" {
		t.Errorf("got %+v, %v", got, err)
	}
}

// A program is new to a profile once: not again, not after a reopen, and
// not for a program seen with that profile before.
func TestFirstUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.jsonl")
	l := Open(path)
	for i, tc := range []struct {
		profile, exe string
		first        bool
	}{
		{"a", "/usr/bin/curl", true},
		{"a", "/usr/bin/curl", false},
		{"b", "/usr/bin/curl", true},
		{"a", "/usr/bin/python3", true},
		{"a", "", false}, // the tray's Copy: no program to tell of
	} {
		first, err := l.Add(Record{Profile: tc.profile, Channel: ChannelToken, Exe: tc.exe})
		if err != nil || first != tc.first {
			t.Errorf("%d: %s by %q: first %v, %v; want %v", i, tc.profile, tc.exe, first, err, tc.first)
		}
	}
	if first, err := Open(path).Add(Record{Profile: "b", Exe: "/usr/bin/curl"}); first || err != nil {
		t.Errorf("after a reopen, a program seen before counts as new: %v, %v", first, err)
	}
}

// Writers in several processes (here Logs of their own, each locking the
// file as a process does) lose no record and keep the file bounded: each
// sees the others' records when it counts, and none undoes another's drop.
func TestConcurrentWritersShareTheBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.jsonl")
	const writers, each = 4, MaxRecords / 2 // together past the bound
	var wg sync.WaitGroup
	for w := range writers {
		l := Open(path)
		wg.Go(func() {
			for i := range each {
				if _, err := l.Add(Record{Profile: "p", Channel: ChannelToken, PID: w*each + i + 1}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	all, err := Read(path, "")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if lines := bytes.Count(raw, []byte("\n")); lines != len(all) {
		t.Errorf("%d lines but %d records: writes interleaved", lines, len(all))
	}
	if len(all) > MaxRecords || len(all) < MaxRecords-MaxRecords/4 {
		t.Errorf("%d records after %d from %d writers; want the bound of %d kept", len(all), writers*each, writers, MaxRecords)
	}
	// Nothing was lost or counted twice: as many records are left as one
	// writer making all the writes in turn leaves. (Which writers' records
	// survive depends on the order the writers ran in.)
	alone := filepath.Join(t.TempDir(), "alone.jsonl")
	one := Open(alone)
	for i := range writers * each {
		if _, err := one.Add(Record{Profile: "p", Channel: ChannelToken, PID: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	want, err := Read(alone, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Errorf("%d records left by %d writers, %d by one making the same writes", len(all), writers, len(want))
	}
}

// An agent's Log counts the records another process appended meanwhile,
// so the file still drops its oldest at the bound.
func TestOtherWritersCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.jsonl")
	agent, cli := Open(path), Open(path)
	if _, err := agent.Add(Record{Profile: "p", PID: 1}); err != nil {
		t.Fatal(err)
	}
	for i := range MaxRecords - 1 {
		if _, err := cli.Add(Record{Profile: "p", PID: i + 2, Exe: "/bin/sh"}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := agent.Add(Record{Profile: "p", PID: MaxRecords + 1, Exe: "/bin/sh"})
	if err != nil {
		t.Fatal(err)
	}
	if first {
		t.Error("a program another process recorded counts as new")
	}
	all, _ := Read(path, "")
	if want := MaxRecords - MaxRecords/4 + 1; len(all) != want || all[len(all)-1].PID != MaxRecords+1 {
		t.Errorf("%d records, last pid %d; want %d ending with the agent's", len(all), all[len(all)-1].PID, want)
	}
}
