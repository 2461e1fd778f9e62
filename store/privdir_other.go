//go:build !unix

package store

import "os"

// noFollow is 0: Windows opens a symlink's target only with the right
// to, and its user dirs are private by their ACLs.
const noFollow = 0

func privateDir(dir string, followOwnLink bool) error {
	return os.MkdirAll(dir, 0o700)
}
