//go:build unix

package privdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// NoFollow makes opening a symlink fail instead of following it: a flag
// for the lock and socket files in the directories Ensure checks.
const NoFollow = unix.O_NOFOLLOW

func ensure(dir string, followOwnLink bool) error {
	if err := os.Mkdir(dir, 0o700); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return err
		}
		err = os.Mkdir(dir, 0o700)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	} else if err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	uid := os.Geteuid()
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NOFOLLOW
	if followOwnLink {
		var link unix.Stat_t
		if err := unix.Lstat(dir, &link); err != nil {
			return &os.PathError{Op: "lstat", Path: dir, Err: err}
		}
		if link.Mode&unix.S_IFMT == unix.S_IFLNK && int(link.Uid) == uid {
			flags &^= unix.O_NOFOLLOW
		}
	}
	// The checks and the chmod go through one descriptor, so that the
	// directory cannot be swapped for another between them.
	fd, err := unix.Open(dir, flags, 0)
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EMLINK): // EMLINK: FreeBSD's
		return fmt.Errorf("%w: %s is a symbolic link; remove it, and Tokentray makes its own directory there", ErrNotPrivate, dir)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%w: %s is not a directory; move it away, and Tokentray makes its own directory there", ErrNotPrivate, dir)
	case err != nil:
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	if int(st.Uid) != uid {
		return fmt.Errorf("%w: %s belongs to uid %d, not to this user (uid %d); another user may have made it to reach Tokentray's files, so it is not used", ErrNotPrivate, dir, st.Uid, uid)
	}
	if st.Mode&0o7777 != 0o700 {
		if err := unix.Fchmod(fd, 0o700); err != nil {
			return &os.PathError{Op: "chmod", Path: dir, Err: err}
		}
	}
	return nil
}
