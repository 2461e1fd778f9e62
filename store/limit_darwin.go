package store

import "strings"

// platformLimit is the largest value go-keyring can store at account. It
// passes `add-generic-password -U -s SERVICE -a ACCOUNT -w go-keyring-base64:BASE64`
// to `security -i`, which takes lines of at most 4,096 bytes, and returns
// keyring.ErrSetDataTooBig beyond that: about 2.9 KB for our names.
func platformLimit(service, account string) int {
	// Shell quoting, at worst: two quotes around each word, and ' becomes '\''.
	quoted := func(s string) int { return len(s) + 2 + 3*strings.Count(s, "'") }
	overhead := len("add-generic-password -U -s  -a  -w \n") + quoted(service) + quoted(account) + quoted("go-keyring-base64:")
	return (4096 - overhead) / 4 * 3 // base64: 4 bytes per 3
}
