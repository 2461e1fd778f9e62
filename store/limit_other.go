//go:build !windows && !darwin

package store

// platformLimit is zero, no limit: the Secret Service stores values of any
// practical size in one item.
func platformLimit(service, account string) int { return 0 }
