package auth

// DetectNetworkType reports NetworkOther on macOS. Telling Wi-Fi from
// Ethernet there needs CoreWLAN or the SystemConfiguration framework, both
// cgo; guessing from interface names is wrong too often (en0 is Ethernet on
// a Mac mini and Wi-Fi on a MacBook), and "other" is a value the API
// accepts. A profile can pin the type instead.
func DetectNetworkType() NetworkType {
	return NetworkOther
}
