// Package proxy is a profile's local HTTP proxy: it forwards every request
// to the profile's base URL with a valid token in the Authorization header,
// so that a tool pointed at it never holds a token that expires. It serves
// only the user who runs the agent, on loopback or a unix socket.
package proxy
