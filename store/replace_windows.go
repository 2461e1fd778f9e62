package store

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
)

// openShared opens path for reading, letting another process replace or
// delete it meanwhile (FILE_SHARE_DELETE, which os.Open leaves out): a
// reader of the config or the secrets file must not make a writer's
// rename fail. The open handle keeps reading the old content.
func openShared(path string) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// replaceBackoff is how long replaceFile waits between its tries; their
// sum bounds its wait, about three seconds.
var replaceBackoff = []time.Duration{
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
	800 * time.Millisecond, 1600 * time.Millisecond,
}

// replaceSleep waits between tries; tests take the wait's place.
var replaceSleep = time.Sleep

// replaceFile renames tmp over path, both in one directory. os.Root's
// rename asks for POSIX semantics (FILE_RENAME_POSIX_SEMANTICS, Windows 10
// 1709 and later, NTFS), under which a file open with FILE_SHARE_DELETE
// (openShared) can be replaced; os.Rename's MoveFileEx cannot. Programs
// that open path without FILE_SHARE_DELETE (a virus scanner, the search
// indexer, an editor), and Windows without POSIX renames, make it fail
// while they hold the file, for milliseconds as a rule: it is tried again,
// with a bounded backoff.
func replaceFile(tmp, path string) error {
	dir := filepath.Dir(path)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for i := 0; ; i++ {
		err = root.Rename(filepath.Base(tmp), filepath.Base(path))
		if err == nil || i == len(replaceBackoff) ||
			!errors.Is(err, windows.ERROR_SHARING_VIOLATION) && !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return err
		}
		replaceSleep(replaceBackoff[i])
	}
}
