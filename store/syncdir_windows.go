package store

// syncDir is a no-op: Windows cannot open a directory for fsync, and its
// rename (MoveFileEx) is durable once it returns.
func syncDir(string) error { return nil }
