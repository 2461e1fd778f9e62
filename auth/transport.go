package auth

import "net/http"

// NewTransport returns a transport with the TLS rules of token requests
// (TLS 1.2 or newer, certificates verified), for whatever else talks to a
// profile's server on its behalf: the agent's proxy.
func NewTransport() *http.Transport { return newTransport() }
