package store

// platformLimit is Credential Manager's largest secret, which go-keyring
// enforces with keyring.ErrSetDataTooBig.
func platformLimit(service, account string) int { return 2560 }
