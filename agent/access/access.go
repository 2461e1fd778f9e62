// Package access records every time a token leaves the agent, and who took
// it: the time, the profile, the channel and the calling process. A record
// never holds a token.
package access

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tokentray/tokentray/store/privdir"
)

// The channels a token leaves by.
const (
	ChannelToken = "token" // GET /v1/token: `tokentray token`, scripts
	ChannelExec  = "exec"  // `tokentray exec`, into a child's environment
	ChannelCopy  = "copy"  // the clipboard, from the tray or the window
	ChannelProxy = "proxy" // a client connection to a profile's proxy
	ChannelTest  = "test"  // the window's Test, granted to the window itself
)

// Record is one time a token left the agent.
type Record struct {
	Time    time.Time `json:"time"`
	Profile string    `json:"profile"`
	Channel string    `json:"channel"`
	// PID and Exe are the process that got the token: for Tokentray's own
	// CLI the process that ran it; 0 and "" when unknown (the tray's
	// Copy: whoever pastes).
	PID int    `json:"pid,omitempty"`
	Exe string `json:"exe,omitempty"`
}

// MaxRecords bounds the file: when it holds this many, the oldest quarter
// is dropped.
const MaxRecords = 4000

// Path is the access log beside the config at configPath.
func Path(configPath string) string {
	return filepath.Join(filepath.Dir(configPath), "access.jsonl")
}

// Log appends records to a file of one JSON object per line, 0600. The
// agent writes it, and so does the CLI that got a token with no agent
// running: each Add holds a file lock beside it, so that writers in other
// processes neither interleave nor undo each other's drop of the oldest.
type Log struct {
	path string
	mu   sync.Mutex
	// count is the records in the file as this Log last left it, which
	// last describes; count is -1 until the file is first read. A file
	// changed since by another process is read again.
	count int
	last  os.FileInfo
	// seen holds each profile and executable pair recorded since the
	// file was first read, dropped records included.
	seen map[[2]string]bool
}

// Open returns the log at path; the file is made at the first Add.
func Open(path string) *Log { return &Log{path: path, count: -1} }

// lockWait bounds the wait for another process's Add: a few file writes.
const lockWait = 10 * time.Second

// Add appends r, dropping the oldest records when the file is full. first
// says that r's executable never had r's profile's token before.
func (l *Log) Add(r Record) (first bool, err error) {
	line, err := json.Marshal(r)
	if err != nil {
		return false, err
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := privdir.EnsureConfig(filepath.Dir(l.path)); err != nil {
		return false, fmt.Errorf("access log: %w", err)
	}
	// The lock file stays for good: deleting it while another process
	// waits on it would let two writers in.
	lock := privdir.FileLock(l.path + ".lock")
	ctx, cancel := context.WithTimeout(context.Background(), lockWait)
	defer cancel()
	if _, err := lock.TryLockContext(ctx, 10*time.Millisecond); err != nil {
		return false, fmt.Errorf("waiting for the lock of the access log %s: %w", l.path, err)
	}
	defer lock.Close()
	if err := l.catchUp(); err != nil {
		return false, err
	}
	if l.count >= MaxRecords {
		if err := l.drop(MaxRecords / 4); err != nil {
			return false, err
		}
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|privdir.NoFollow, 0o600)
	if err != nil {
		return false, fmt.Errorf("access log: %w", err)
	}
	_, err = f.Write(line)
	if err == nil {
		l.last, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		l.count = -1 // what is in the file is unknown now
		return false, fmt.Errorf("access log %s: %w", l.path, err)
	}
	l.count++
	key := [2]string{r.Profile, r.Exe}
	first = r.Exe != "" && !l.seen[key]
	l.seen[key] = true
	return first, nil
}

// catchUp reads the file again unless it is as this Log left it: at the
// first Add, and after another process appended or dropped records.
func (l *Log) catchUp() error {
	fi, err := os.Stat(l.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("access log: %w", err)
	}
	if l.count >= 0 && (fi == nil) == (l.last == nil) && (fi == nil || os.SameFile(fi, l.last) && fi.Size() == l.last.Size()) {
		return nil
	}
	records, err := Read(l.path, "")
	if err != nil {
		return err
	}
	l.count, l.last = len(records), fi
	if l.seen == nil {
		l.seen = map[[2]string]bool{}
	}
	for _, old := range records {
		l.seen[[2]string{old.Profile, old.Exe}] = true
	}
	return nil
}

// drop rewrites the file without its n oldest records, through a temporary
// file renamed over it, so that a crash leaves one whole file or the other.
func (l *Log) drop(n int) error {
	records, err := Read(l.path, "")
	if err != nil {
		return err
	}
	records = records[min(n, len(records)):]
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(l.path), ".access.jsonl.*.tmp") // 0600
	if err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	_, err = tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), l.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("access log %s: %w", l.path, err)
	}
	l.count, l.last = len(records), nil // the append after it stats the new file
	return nil
}

// Read returns the records at path, oldest first; with a profile, only
// that profile's. A missing file has none. A line that does not parse (cut
// short by a crash) is skipped.
func Read(path, profile string) ([]Record, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		if profile == "" || r.Profile == profile {
			out = append(out, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("access log %s: %w", path, err)
	}
	return out, nil
}
