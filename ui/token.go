package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/profile"
	"github.com/tokentray/tokentray/store"
)

// tokenView shows one profile: its state, its token's countdown and scope,
// and the access token's claims, with copy buttons. The token itself is
// never shown; copies go through the agent, which owns the clipboard.
type tokenView struct {
	w *Window
	p store.Profile

	icon         *widget.Icon
	state        *widget.Label
	expires, at  *widget.Label
	scope        *widget.Label
	claims       *fyne.Container
	claimsNote   *widget.Label
	message      *widget.Label
	copy, header *widget.Button
	refresh      *widget.Button
	tok          localapi.TokenResponse
	fetching     bool
	fetchedFor   time.Time       // the expiry the agent last reported when the token was read
	recent       *fyne.Container // the last records of the access log
	body         *fyne.Container
	obj          fyne.CanvasObject
}

func newTokenView(w *Window, p store.Profile) *tokenView {
	v := &tokenView{
		w: w, p: p,
		icon:       widget.NewIcon(nil),
		state:      widget.NewLabel(""),
		expires:    widget.NewLabel("—"),
		scope:      widget.NewLabel("—"),
		claims:     container.New(layout.NewFormLayout()),
		claimsNote: widget.NewLabel(""),
		message:    widget.NewLabel(""),
	}
	v.state.Wrapping = fyne.TextWrapWord
	v.scope.Wrapping = fyne.TextWrapWord
	v.message.Wrapping = fyne.TextWrapWord
	v.message.Hide()
	// Said plainly, not in small print: these claims are not proven.
	v.claimsNote.TextStyle.Italic = true

	back := widget.NewButtonWithIcon("", theme.NavigateBackIcon(), w.showHome)
	edit := widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { w.showEditor(editorEdit, p) })
	duplicate := widget.NewButtonWithIcon("Duplicate", theme.ContentCopyIcon(), func() { w.showEditor(editorDuplicate, p) })
	remove := widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), v.confirmDelete)
	remove.Importance = widget.DangerImportance
	header := container.NewBorder(nil, nil, container.NewCenter(back),
		container.NewCenter(container.NewHBox(edit, duplicate, remove)), heading(p.Name))

	v.copy = widget.NewButtonWithIcon("Copy token", theme.ContentCopyIcon(), func() {
		w.copyToken(p.Name, false, v.copy, v.message)
	})
	v.copy.Importance = widget.HighImportance
	v.header = widget.NewButtonWithIcon("Copy Authorization header", theme.ContentCopyIcon(), func() {
		w.copyToken(p.Name, true, v.header, v.message)
	})
	v.refresh = widget.NewButtonWithIcon("Refresh now", theme.ViewRefreshIcon(), v.refreshNow)

	summary := widget.NewForm(
		widget.NewFormItem("Flow", widget.NewLabel(flowName(p.Flow)+" · "+p.BaseURL)),
		widget.NewFormItem("Expires in", v.expires),
		widget.NewFormItem("Scope", v.scope),
	)
	if p.Proxy != "" {
		summary.Append("Proxy", widget.NewLabel(p.Proxy))
	}
	tokenCard := widget.NewCard("", "", container.NewVBox(
		container.NewBorder(nil, nil, container.NewCenter(v.icon), nil, v.state),
		summary,
		container.NewHBox(v.copy, v.header, layout.NewSpacer(), v.refresh),
		v.message,
	))
	claimsTitle := widget.NewLabel("Access token claims")
	claimsTitle.TextStyle.Bold = true
	claimsTitle.SizeName = theme.SizeNameSubHeadingText
	claimsCard := widget.NewCard("", "", container.NewVBox(claimsTitle, v.claimsNote, v.claims))
	recentTitle := widget.NewLabel("Recent use")
	recentTitle.TextStyle.Bold = true
	recentTitle.SizeName = theme.SizeNameSubHeadingText
	v.recent = container.NewVBox()
	v.body = container.NewVBox(tokenCard, claimsCard, widget.NewCard("", "", container.NewVBox(recentTitle, v.recent)))
	v.obj = container.NewBorder(header, nil, nil, nil, container.NewVScroll(v.body))
	if e, known := w.states[p.Name]; known {
		v.fetchedFor = e.Expiry
	}
	v.fetch()
	return v
}

// recentUses is how many access records the view shows.
const recentUses = 5

// showRecent reads the access log's last records of the profile; the
// token fetched for the claims is among them.
func (v *tokenView) showRecent() {
	v.w.goBackground(func(context.Context) {
		records, err := access.Read(access.Path(v.w.configPath), v.p.Name)
		v.w.do(func() {
			v.recent.Objects = nil
			defer v.body.Refresh()
			switch {
			case err != nil:
				v.recent.Add(widget.NewLabel("Cannot read the access log: " + err.Error()))
			case len(records) == 0:
				v.recent.Add(note("No program has had this profile's token yet."))
			}
			for _, r := range records[max(len(records)-recentUses, 0):] {
				who := "program unknown"
				switch {
				case r.Exe != "":
					who = fmt.Sprintf("%s (pid %d)", r.Exe, r.PID)
				case r.Channel == access.ChannelCopy:
					who = "whoever pastes it"
				}
				line := widget.NewLabel(r.Time.Local().Format(time.DateTime) + " · " + r.Channel + " · " + who)
				line.Wrapping = fyne.TextWrapWord
				v.recent.Add(line)
			}
		})
	})
}

// fetch asks the agent for the profile's token, to read its claims.
func (v *tokenView) fetch() {
	if v.fetching {
		return
	}
	v.fetching = true
	v.w.goBackground(func(ctx context.Context) {
		tok, err := v.w.agent.Token(ctx, v.p.Name)
		v.w.do(func() {
			v.fetching = false
			v.showToken(tok, err)
			v.showRecent()
		})
	})
}

func (v *tokenView) showToken(tok localapi.TokenResponse, err error) {
	v.claims.Objects = nil
	// The claims change the card's height: lay the view out again.
	defer v.body.Refresh()
	if err != nil {
		v.claimsNote.SetText("No token to read: " + agentMessage(err))
		return
	}
	v.tok = tok
	if tok.Scope != "" {
		v.scope.SetText(tok.Scope)
	} else {
		v.scope.SetText("not stated by the server")
	}
	claims, err := decodeClaims(tok.AccessToken, time.Local)
	if err != nil {
		v.claimsNote.SetText(err.Error())
		return
	}
	v.claimsNote.SetText("Decoded for reading only: the signature is not verified.")
	for _, c := range claims {
		name := widget.NewLabel(c.Name)
		name.TextStyle.Bold = true
		value := widget.NewLabel(c.Value)
		value.Wrapping = fyne.TextWrapBreak
		value.Selectable = true
		v.claims.Add(name)
		v.claims.Add(value)
	}
	v.update(v.w.now())
}

// refreshNow has the agent renew the token; the new one shows once the
// agent's events say it is there.
func (v *tokenView) refreshNow() {
	v.refresh.Disable()
	v.w.goBackground(func(ctx context.Context) {
		err := v.w.agent.Refresh(ctx, v.p.Name)
		v.w.do(func() {
			v.refresh.Enable()
			if err != nil {
				setError(v.message, "Not refreshed: ", err)
				return
			}
			setInfo(v.message, "Refreshing…")
		})
	})
}

// confirmDelete asks before deleting the profile, its keychain entries and
// (for a web grant) its grant at the server.
func (v *tokenView) confirmDelete() {
	var entries []string
	for _, kind := range profile.NeededSecrets(v.p) {
		entries = append(entries, kind.String())
	}
	what := "Its settings and its keychain entries (" + strings.Join(entries, ", ") + ", token) are deleted"
	if f, _ := profile.Lookup(v.p.Flow); f.Revokes {
		what += ", and its grant is revoked at the server"
	}
	what += "."
	d := dialog.NewCustomConfirm("Delete "+v.p.Name+"?", "Delete", "Cancel",
		note(what+" This cannot be undone."), func(ok bool) {
			if ok {
				v.delete()
			}
		}, v.w)
	d.SetConfirmImportance(widget.DangerImportance)
	d.Resize(fyne.NewSize(440, 220))
	v.w.showDialog(d)
}

func (v *tokenView) delete() {
	setInfo(v.message, "Deleting…")
	name := v.p.Name
	v.w.goBackground(func(ctx context.Context) {
		var reloadErr error
		removal, err := profile.Remove(ctx, v.w.configPath, v.w.keychain(), name, func(ctx context.Context) {
			reloadErr = v.w.agent.Reload(ctx)
		})
		v.w.do(func() {
			if err != nil {
				setError(v.message, "Not deleted: ", err)
				return
			}
			msg := "Deleted " + name + " and its keychain entries."
			if removal.NotRevoked != nil {
				msg += fmt.Sprintf(" Its tokens could not be revoked (%v).", removal.NotRevoked)
			}
			if reloadErr != nil && !errors.Is(reloadErr, localapi.ErrNotRunning) {
				msg += " The agent did not read the profiles again: " + reloadErr.Error()
			}
			v.w.showHomeWith(msg)
		})
	})
}

func (v *tokenView) content() fyne.CanvasObject { return v.obj }

func (v *tokenView) update(now time.Time) {
	e, known := v.w.states[v.p.Name]
	st := profileStatus(e, known, v.w.agentErr, now)
	v.icon.SetResource(st.icon)
	v.state.Importance = st.importance
	v.state.SetText(st.text)
	// A renewed token has new claims: read them again, once per renewal.
	if known && e.State == auth.StateValid && !e.Expiry.Equal(v.fetchedFor) {
		v.fetchedFor = e.Expiry
		v.fetch()
	}
	expiry := v.tok.Expiry
	if known && !e.Expiry.IsZero() {
		expiry = e.Expiry
	}
	if expiry.IsZero() {
		v.expires.SetText("—")
		return
	}
	v.expires.SetText(countdown(expiry.Sub(now)) + " · at " + formatExpiry(expiry, now))
}

func (v *tokenView) focus(fyne.Canvas) {}
