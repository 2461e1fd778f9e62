package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/agent"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/store"
)

// defaultBaseURL is the identity API that profiles use unless told otherwise.
const defaultBaseURL = "https://api.nfl.com"

// networkChoices are the Network select's options, "auto" first as the
// default: it detects the network at each request.
var networkChoices = []string{
	auth.NetworkAuto,
	string(auth.NetworkWifi),
	string(auth.NetworkEthernet),
	string(auth.NetworkCellular),
	string(auth.NetworkOther),
}

// profileForm is the "Add a profile" screen.
type profileForm struct {
	w        *Window
	existing []string // names the form must not overwrite

	name, baseURL, clientKey, secret *widget.Entry
	network                          *widget.Select
	checks                           []fieldCheck

	save, copy, done *widget.Button
	result           *widget.Label
	saved            string // the profile that result and copy are about

	content fyne.CanvasObject
}

// fieldCheck validates one entry and shows its error right under it.
type fieldCheck struct {
	entry *widget.Entry
	err   *widget.Label
	check func(string) error
}

// run validates the entry's trimmed text and shows or hides the error.
func (c fieldCheck) run() bool {
	if err := c.check(strings.TrimSpace(c.entry.Text)); err != nil {
		c.err.SetText(err.Error())
		c.err.Show()
		return false
	}
	c.err.Hide()
	return true
}

func newProfileForm(w *Window, existing []string) *profileForm {
	f := &profileForm{
		w:         w,
		existing:  existing,
		name:      widget.NewEntry(),
		baseURL:   widget.NewEntry(),
		clientKey: widget.NewEntry(),
		secret:    widget.NewPasswordEntry(),
		network:   widget.NewSelect(networkChoices, nil),
		result:    widget.NewLabel(""),
	}
	f.name.SetPlaceHolder("e.g. nfl")
	f.baseURL.SetText(defaultBaseURL)
	f.clientKey.SetPlaceHolder("the API's client key")
	f.secret.SetPlaceHolder("kept in your keychain")
	f.network.SetSelected(auth.NetworkAuto)
	f.result.Wrapping = fyne.TextWrapWord
	f.result.Hide()

	form := widget.NewForm(
		widget.NewFormItem("Name", f.field(f.name, f.checkName)),
		widget.NewFormItem("Base URL", f.field(f.baseURL, auth.CheckBaseURL)),
		widget.NewFormItem("Client key", f.field(f.clientKey, required("Enter the client key."))),
		widget.NewFormItem("Client secret", f.field(f.secret, required("Enter the client secret."))),
		widget.NewFormItem("Network", f.network),
	)

	f.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), f.submit)
	f.save.Importance = widget.HighImportance
	buttons := container.NewHBox(layout.NewSpacer())
	if len(existing) > 0 {
		buttons.Add(widget.NewButton("Cancel", w.showHome))
	}
	buttons.Add(f.save)

	f.copy = widget.NewButtonWithIcon("Copy token", theme.ContentCopyIcon(), func() {
		w.copyToken(f.saved, f.copy, f.result)
	})
	f.copy.Hide()
	f.done = widget.NewButtonWithIcon("Show profiles", theme.ListIcon(), w.showHome)
	f.done.Hide()

	f.content = container.NewVScroll(container.NewVBox(
		heading("Add a profile"),
		note("Tokentray keeps a device token fresh for each profile. "+
			"The client secret goes to your keychain, never to a file."),
		form,
		buttons,
		f.result,
		container.NewHBox(f.copy, f.done),
	))
	return f
}

// field returns entry with its error line under it, and registers the
// check that Save runs. Once an error shows, it is checked again as the
// person types, so it goes away as soon as the value is right.
func (f *profileForm) field(entry *widget.Entry, check func(string) error) fyne.CanvasObject {
	c := fieldCheck{entry: entry, err: widget.NewLabel(""), check: check}
	c.err.Importance = widget.DangerImportance
	c.err.Wrapping = fyne.TextWrapWord
	c.err.Hide()
	entry.OnChanged = func(string) {
		if c.err.Visible() {
			c.run()
		}
	}
	f.checks = append(f.checks, c)
	return container.NewVBox(entry, c.err)
}

func (f *profileForm) checkName(name string) error {
	if err := store.ValidateProfileName(name); err != nil {
		return err
	}
	if slices.Contains(f.existing, name) {
		return fmt.Errorf("a profile named %q exists already; choose another name", name)
	}
	return nil
}

func required(message string) func(string) error {
	return func(s string) error {
		if s == "" {
			return errors.New(message)
		}
		return nil
	}
}

// submit validates every field, then saves the profile and asks the agent
// for its first token in the background.
func (f *profileForm) submit() {
	valid := true
	for _, c := range f.checks {
		valid = c.run() && valid // check them all, so every error shows
	}
	network, err := auth.ParseNetwork(f.network.Selected)
	if !valid || err != nil {
		return
	}
	p := store.Profile{
		Name:      strings.TrimSpace(f.name.Text),
		Flow:      "identity",
		BaseURL:   strings.TrimSpace(f.baseURL.Text),
		ClientKey: strings.TrimSpace(f.clientKey.Text),
		Network:   network,
	}
	secret := strings.TrimSpace(f.secret.Text)

	f.save.Disable()
	f.copy.Hide()
	setInfo(f.result, "Saving…")
	f.w.goBackground(func(ctx context.Context) {
		// store.AddProfile also drops the token of a profile replaced.
		if err := store.AddProfile(f.w.configPath, store.OpenKeychain(f.w.configPath, nil), p, store.Secrets{ClientSecret: secret}); err != nil {
			fyne.Do(func() {
				f.save.Enable()
				setError(f.result, "Not saved: ", err)
			})
			return
		}
		fyne.Do(func() {
			f.saved = p.Name
			f.done.Show()
			setInfo(f.result, "Saved. Asking the agent for a token…")
		})
		tok, err := firstToken(ctx, f.w.agent, p.Name)
		fyne.Do(func() {
			f.save.Enable()
			if err != nil {
				setError(f.result, "Saved, but there is no token yet: ", err)
				return
			}
			setInfo(f.result, "Token ready · valid until "+formatExpiry(tok.Expiry, time.Now()))
			f.copy.Show()
		})
	})
}

// firstToken makes the agent read the new profile and fetch its token.
func firstToken(ctx context.Context, a Agent, profile string) (agent.TokenResponse, error) {
	if err := a.Reload(ctx); err != nil {
		return agent.TokenResponse{}, err
	}
	return a.Token(ctx, profile)
}
