package store

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// writeTemp writes content to a temporary file beside path, for
// replaceFile to move over it.
func writeTemp(t *testing.T, path, content string) string {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return tmp
}

// A reader holding the file open does not keep a writer from replacing
// it, and goes on reading what it opened.
func TestReplaceWhileReadShared(t *testing.T) {
	if windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil {
		t.Skip("Wine replaces no file another handle holds, FILE_SHARE_DELETE or not; only real Windows (10 1709 or later, NTFS) can judge this")
	}
	path := filepath.Join(t.TempDir(), "secrets.enc")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := openShared(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := replaceFile(writeTemp(t, path, "new"), path); err != nil {
		t.Fatalf("replacing a file a reader holds: %v", err)
	}
	if got, err := io.ReadAll(f); err != nil || string(got) != "old" {
		t.Errorf("the held file reads %q, %v; want the old content", got, err)
	}
	if got, err := readShared(path); err != nil || string(got) != "new" {
		t.Errorf("the file reads %q, %v; want the new content", got, err)
	}
}

// A program that opens the file without FILE_SHARE_DELETE holds the
// rename up only until it closes it.
func TestReplaceRetriesWhileHeld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path) // no FILE_SHARE_DELETE
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	replaceSleep = func(d time.Duration) {
		waits = append(waits, d)
		if len(waits) == 2 {
			f.Close()
		}
	}
	t.Cleanup(func() { replaceSleep = time.Sleep })
	if err := replaceFile(writeTemp(t, path, "new"), path); err != nil {
		t.Fatalf("replacing after the holder closed: %v", err)
	}
	if len(waits) != 2 {
		t.Errorf("waited %v, want two waits (the file was held until the second)", waits)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "new" {
		t.Errorf("the file reads %q, %v; want the new content", got, err)
	}
}

// A holder that never lets go gets the writer an error after the bounded
// backoff, and the file as it was.
func TestReplaceGivesUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var waited time.Duration
	replaceSleep = func(d time.Duration) { waited += d }
	t.Cleanup(func() { replaceSleep = time.Sleep })
	err = replaceFile(writeTemp(t, path, "new"), path)
	if !errors.Is(err, windows.ERROR_SHARING_VIOLATION) && !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		t.Fatalf("replacing a file held for good: %v, want a sharing violation or access denied", err)
	}
	if waited < 2*time.Second || waited > 5*time.Second {
		t.Errorf("waited %v in all, want a few seconds", waited)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "old" {
		t.Errorf("the file reads %q, %v; want it as it was", got, err)
	}
}
