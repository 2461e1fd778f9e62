package localapi

import (
	"context"
	"net/http"
	"net/url"
)

// TokenVia is Token for a command that hands the token on by another
// channel than printing it (via "exec"), which the access log records.
func (c *Client) TokenVia(ctx context.Context, profile, via string) (TokenResponse, error) {
	var t TokenResponse
	err := c.doWithin(ctx, quickAnswerWait, http.MethodGet, "/v1/token?profile="+url.QueryEscape(profile)+"&via="+url.QueryEscape(via), &t)
	return t, err
}

// Tested tells the agent that the window's Test was granted a token of
// profile (perhaps not saved yet), for the access log: channel "test",
// with the window's process as the caller.
func (c *Client) Tested(ctx context.Context, profile string) error {
	return c.doWithin(ctx, quickAnswerWait, http.MethodPost, "/v1/tested?profile="+url.QueryEscape(profile), nil)
}
