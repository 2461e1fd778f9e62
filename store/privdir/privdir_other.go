//go:build !unix

package privdir

import "os"

// NoFollow is 0: Windows opens a symlink's target only with the right
// to, and its user dirs are private by their ACLs.
const NoFollow = 0

func ensure(dir string, followOwnLink bool) error {
	return os.MkdirAll(dir, 0o700)
}
