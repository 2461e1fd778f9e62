package ui

import (
	"errors"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
)

// status is how a profile's state reads in the window.
type status struct {
	text       string
	importance widget.Importance
	icon       fyne.Resource
}

// profileStatus words what the agent last said of a profile, in the tray's
// words: "Valid · expires in 42 min", "Refreshing…", "Retrying in 30 s:
// server error 503", "Needs you: client secret rejected". agentErr is why
// the window hears nothing from the agent, if it does not.
func profileStatus(e auth.Event, known bool, agentErr error, now time.Time) status {
	switch {
	case errors.Is(agentErr, localapi.ErrNotRunning):
		// Normal for a moment while the GUI starts the agent.
		return status{"Waiting for the Tokentray agent…", widget.LowImportance, theme.NewDisabledResource(theme.HistoryIcon())}
	case agentErr != nil:
		return status{"The agent does not answer: " + agentErr.Error(), widget.DangerImportance, theme.NewErrorThemedResource(theme.ErrorIcon())}
	case !known:
		return status{"The agent has not read this profile yet", widget.LowImportance, theme.NewDisabledResource(theme.HistoryIcon())}
	}
	switch e.State {
	case auth.StateValid:
		if !e.Expiry.After(now) {
			return status{"Expired · renewing", widget.WarningImportance, theme.NewWarningThemedResource(theme.HistoryIcon())}
		}
		if e.Refused != "" {
			return status{"Refused by its API: " + e.Refused + " · token valid for " + localapi.TimeLeft(e.Expiry.Sub(now)), widget.WarningImportance, theme.NewWarningThemedResource(theme.WarningIcon())}
		}
		return status{"Valid · expires in " + localapi.TimeLeft(e.Expiry.Sub(now)), widget.MediumImportance, theme.NewSuccessThemedResource(theme.ConfirmIcon())}
	case auth.StateRefreshing:
		return status{"Refreshing…", widget.MediumImportance, theme.NewPrimaryThemedResource(theme.ViewRefreshIcon())}
	case auth.StateRetrying:
		text := "Retrying"
		if e.RetryAt.After(now) {
			text += " in " + localapi.TimeLeft(e.RetryAt.Sub(now))
		}
		text += ": " + e.Err
		if e.Expiry.After(now) {
			text += " · token valid for " + localapi.TimeLeft(e.Expiry.Sub(now))
		}
		return status{text, widget.WarningImportance, theme.NewWarningThemedResource(theme.WarningIcon())}
	case auth.StateKeychain:
		text := "Keychain not answering"
		if e.RetryAt.After(now) {
			text += " · retrying in " + localapi.TimeLeft(e.RetryAt.Sub(now))
		}
		return status{text + ": " + e.Err, widget.WarningImportance, theme.NewWarningThemedResource(theme.WarningIcon())}
	case auth.StateNeedsUser:
		return status{"Needs you: " + e.Err, widget.DangerImportance, theme.NewErrorThemedResource(theme.ErrorIcon())}
	default:
		return status{"No token yet", widget.LowImportance, theme.NewDisabledResource(theme.HistoryIcon())}
	}
}

// countdown is a time left to the second, for the token view: "41:59",
// "1:05:00"; "expired" once it is past.
func countdown(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s%3600/60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
