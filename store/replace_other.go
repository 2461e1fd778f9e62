//go:build !windows

package store

import "os"

// openShared opens path for reading; a rename over it meanwhile leaves
// the open file reading the old content.
func openShared(path string) (*os.File, error) { return os.Open(path) }

// replaceFile renames tmp over path; syncDir makes it durable.
func replaceFile(tmp, path string) error { return os.Rename(tmp, path) }
