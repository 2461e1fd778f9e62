package auth

import "sync"

// ResetMissingRefreshTokenWarning lets a test see the once-only warning
// again.
func ResetMissingRefreshTokenWarning() { missingRefreshToken = sync.Once{} }
