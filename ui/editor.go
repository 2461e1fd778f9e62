package ui

import (
	"context"
	"encoding/json"
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

	"github.com/tokentray/tokentray/agent/access"
	"github.com/tokentray/tokentray/agent/localapi"
	"github.com/tokentray/tokentray/agent/proxy"
	"github.com/tokentray/tokentray/auth"
	"github.com/tokentray/tokentray/profile"
	"github.com/tokentray/tokentray/store"
)

// networkChoices are the Network select's options, "auto" first as the
// default: it detects the network at each request.
var networkChoices = []string{
	auth.NetworkAuto,
	string(auth.NetworkWifi),
	string(auth.NetworkEthernet),
	string(auth.NetworkCellular),
	string(auth.NetworkOther),
}

// flowChoices are the flows as the editor names them, the default first.
func flowChoices() []string {
	var labels []string
	for _, f := range profile.Flows() {
		labels = append(labels, f.Label)
	}
	return labels
}

// editorMode is what the editor does with the profile it was given.
type editorMode int

const (
	editorAdd       editorMode = iota // a new profile
	editorEdit                        // change a profile, keeping its name
	editorDuplicate                   // a new profile starting from a copy of one
)

// editor is the profile editor for both flows. Secret fields left blank
// keep the stored secrets of the profile edited or duplicated.
type editor struct {
	w        *Window
	mode     editorMode
	original store.Profile // when editing or duplicating

	name, baseURL, secret         *formEntry
	flow                          *widget.RadioGroup
	clientKey, model, version     *formEntry
	network                       *widget.Select
	clientID, session, sub, scope *formEntry
	subType                       *widget.Select
	proxy                         *formEntry
	form                          *fyne.Container // label, field, label, field…
	rows                          []formRow
	deviceInfo                    *widget.Label
	detected                      auth.DeviceInfo
	checks                        []fieldCheck

	test, save *widget.Button
	working    bool // a save or a test is under way: Enter must not start another
	result     *widget.Label
	obj        fyne.CanvasObject
}

// formRow is one line of the form; flow is the flow it belongs to, "" for
// both.
type formRow struct {
	label, field fyne.CanvasObject
	flow         string
}

// row adds a line to the form.
func (ed *editor) row(flow, label string, field fyne.CanvasObject) {
	var l fyne.CanvasObject = layout.NewSpacer()
	if label != "" {
		text := widget.NewLabel(label)
		text.TextStyle.Bold = true
		text.Alignment = fyne.TextAlignTrailing
		l = text
	}
	ed.form.Add(l)
	ed.form.Add(field)
	ed.rows = append(ed.rows, formRow{l, field, flow})
}

// fieldCheck validates one entry and shows its error right under it.
type fieldCheck struct {
	entry *formEntry
	err   *widget.Label
	check func(string) error
	flow  string // the flow the field belongs to; "" for both
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

func newEditor(w *Window, mode editorMode, p store.Profile) *editor {
	ed := &editor{w: w, mode: mode, original: p, detected: w.deviceInfo(), result: widget.NewLabel("")}
	esc := w.back
	ed.name, ed.baseURL, ed.secret = newFormEntry(esc), newFormEntry(esc), newSecretEntry(esc)
	ed.clientKey, ed.model, ed.version = newFormEntry(esc), newFormEntry(esc), newFormEntry(esc)
	ed.clientID, ed.session, ed.sub, ed.scope = newFormEntry(esc), newSecretEntry(esc), newFormEntry(esc), newFormEntry(esc)
	ed.proxy = newFormEntry(esc)
	ed.network = widget.NewSelect(networkChoices, nil)
	ed.subType = widget.NewSelect([]string{auth.SubTypeUser, auth.SubTypeOrganization}, func(string) { ed.recheck(ed.sub) })
	ed.flow = widget.NewRadioGroup(flowChoices(), func(string) { ed.switchFlow() })
	ed.flow.Horizontal = true
	ed.flow.Required = true
	ed.result.Wrapping = fyne.TextWrapWord
	ed.result.Hide()
	ed.fill()

	ed.form = container.New(layout.NewFormLayout())
	ed.row("", "Name", ed.field(ed.name, "", ed.checkName))
	ed.row("", "Flow", ed.flow)
	ed.row("", "Base URL", ed.field(ed.baseURL, "", auth.CheckBaseURL))
	// Each flow's client identifier comes before the secret that goes
	// with it, as a user name comes before its password.
	ed.row(store.FlowIdentity, "Client key", ed.field(ed.clientKey, store.FlowIdentity, required("Enter the client key.")))
	ed.row(store.FlowWeb, "Client ID", ed.field(ed.clientID, store.FlowWeb, required("Enter the client ID.")))
	ed.row("", "Client secret", ed.field(ed.secret, "", ed.requiredSecret("client secret", true)))
	ed.devicePanel()
	ed.row(store.FlowWeb, "Session token", ed.field(ed.session, store.FlowWeb, ed.requiredSecret("session token", ed.original.Flow == store.FlowWeb)))
	ed.row(store.FlowWeb, "Sub type", ed.subType)
	ed.row(store.FlowWeb, "Sub", ed.field(ed.sub, store.FlowWeb, ed.checkSub))
	ed.row(store.FlowWeb, "Scope", ed.field(ed.scope, store.FlowWeb, func(string) error { return nil }))
	ed.row("", "Local proxy", ed.field(ed.proxy, "", checkProxy))

	var title, intro string
	switch mode {
	case editorEdit:
		title, intro = "Edit "+p.Name, "Leave a secret blank to keep the one in your keychain. Saving fetches a new token."
	case editorDuplicate:
		title, intro = "Duplicate "+p.Name, "A new profile with "+p.Name+"'s settings. Leave a secret blank to copy "+p.Name+"'s."
	default:
		title, intro = "Add a profile", "Tokentray keeps a token fresh for each profile. Its secrets are kept in your keychain, never in the config file."
	}

	ed.test = widget.NewButtonWithIcon("Test", theme.MediaPlayIcon(), ed.runTest)
	ed.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), ed.submit)
	ed.save.Importance = widget.HighImportance
	buttons := container.NewHBox(layout.NewSpacer())
	if len(w.profiles) > 0 {
		buttons.Add(widget.NewButton("Cancel", w.showHome))
	}
	buttons.Add(ed.test)
	buttons.Add(ed.save)

	ed.obj = container.NewBorder(
		container.NewVBox(heading(title), note(intro)),
		container.NewVBox(ed.result, buttons), nil, nil,
		container.NewVScroll(ed.form),
	)
	ed.showFlow()
	return ed
}

// fill puts the profile's values in the fields, or the defaults.
func (ed *editor) fill() {
	p := ed.original
	ed.flow.SetSelected(flowName(store.FlowIdentity))
	ed.network.SetSelected(auth.NetworkAuto)
	ed.subType.SetSelected(auth.SubTypeUser)
	ed.model.SetPlaceHolder(auth.DefaultDeviceModel + " (the default)")
	ed.version.SetPlaceHolder(auth.DefaultDeviceVersion + " (the default)")
	ed.sub.SetPlaceHolder("organizations only: the organization's id")
	ed.scope.SetPlaceHolder("optional: space-separated scopes")
	ed.clientKey.SetPlaceHolder("the API's client key")
	ed.clientID.SetPlaceHolder("the OAuth client ID")
	ed.proxy.SetPlaceHolder("optional: 127.0.0.1:PORT or unix:PATH, for tools to send requests through")
	if ed.mode == editorAdd {
		ed.name.SetPlaceHolder("e.g. work")
		ed.baseURL.SetText(profile.DefaultBaseURL(store.FlowIdentity))
		ed.secret.SetPlaceHolder("kept in your keychain")
		ed.session.SetPlaceHolder("from the web app; kept in your keychain")
		return
	}
	if ed.mode == editorEdit {
		ed.name.SetText(p.Name)
		ed.name.Disable() // the keychain entries are named after it
	} else {
		ed.name.SetText(uniqueName(p.Name+"-copy", ed.w.names()))
	}
	ed.flow.SetSelected(flowName(p.Flow))
	ed.baseURL.SetText(p.BaseURL)
	keep := "blank keeps the stored secret"
	if ed.mode == editorDuplicate {
		keep = "blank copies " + p.Name + "'s secret"
	}
	ed.secret.SetPlaceHolder(keep)
	if p.Flow == store.FlowWeb {
		ed.session.SetPlaceHolder(keep)
	} else {
		ed.session.SetPlaceHolder("from the web app; kept in your keychain")
	}
	ed.clientKey.SetText(p.ClientKey)
	if network, err := auth.ParseNetwork(p.Network); err == nil {
		ed.network.SetSelected(network)
	}
	ed.model.SetText(p.DeviceModel)
	ed.version.SetText(p.DeviceVersion)
	ed.clientID.SetText(p.ClientID)
	if p.SubType != "" {
		ed.subType.SetSelected(p.SubType)
	}
	ed.sub.SetText(p.Sub)
	ed.scope.SetText(p.Scope)
	if ed.mode == editorEdit {
		// A copy on the same address could not listen there.
		ed.proxy.SetText(p.Proxy)
	}
}

// devicePanel adds what the identity flow says about this machine to the
// form, with the profile's overrides.
func (ed *editor) devicePanel() {
	deviceID := "made when the first profile is saved"
	if cfg, err := store.Load(ed.w.configPath); err == nil && cfg.DeviceID != "" {
		deviceID = cfg.DeviceID
	}
	id := widget.NewLabel(deviceID)
	id.Selectable = true
	ed.deviceInfo = widget.NewLabel("")
	ed.deviceInfo.Wrapping = fyne.TextWrapBreak
	ed.deviceInfo.TextStyle.Monospace = true
	ed.model.OnChanged = func(string) { ed.showDeviceInfo() }
	ed.version.OnChanged = func(string) { ed.showDeviceInfo() }
	ed.showDeviceInfo()

	section := widget.NewLabel("Device")
	section.TextStyle.Bold = true
	section.SizeName = theme.SizeNameSubHeadingText
	ed.row(store.FlowIdentity, "", container.NewVBox(widget.NewSeparator(), section,
		hint("Sent with every identity request. The model and version may be set for this profile; the rest is detected.")))
	ed.row(store.FlowIdentity, "Device ID", id)
	ed.row(store.FlowIdentity, "Device info", ed.deviceInfo)
	ed.row(store.FlowIdentity, "Detected network", widget.NewLabel(string(ed.w.detectNetwork())))
	ed.row(store.FlowIdentity, "Model", ed.model)
	ed.row(store.FlowIdentity, "Version", ed.version)
	ed.row(store.FlowIdentity, "Network", ed.network)
}

// showDeviceInfo shows device_info decoded, as the overrides make it.
func (ed *editor) showDeviceInfo() {
	p := store.Profile{DeviceModel: strings.TrimSpace(ed.model.Text), DeviceVersion: strings.TrimSpace(ed.version.Text)}
	decoded, _ := json.Marshal(p.DeviceInfo(ed.detected)) // four strings: cannot fail
	ed.deviceInfo.SetText(string(decoded))
}

// showFlow shows the fields of the chosen flow only.
func (ed *editor) showFlow() {
	if ed.form == nil {
		return // still being built
	}
	flow := ed.selectedFlow()
	for _, r := range ed.rows {
		if r.flow == "" || r.flow == flow {
			r.label.Show()
			r.field.Show()
		} else {
			r.label.Hide()
			r.field.Hide()
		}
	}
	ed.form.Refresh()
}

func (ed *editor) selectedFlow() string {
	for _, f := range profile.Flows() {
		if f.Label == ed.flow.Selected {
			return f.Name
		}
	}
	return profile.Flows()[0].Name
}

// switchFlow shows the chosen flow's fields and, unless the user typed a
// base URL of their own, puts in the chosen flow's default.
func (ed *editor) switchFlow() {
	url := strings.TrimSpace(ed.baseURL.Text)
	if url == "" || slices.ContainsFunc(profile.Flows(), func(f profile.Flow) bool { return f.DefaultBaseURL == url }) {
		if def := profile.DefaultBaseURL(ed.selectedFlow()); def != url {
			ed.baseURL.SetText(def)
		}
	}
	ed.showFlow()
}

// recheck runs the check of entry again where its error shows, after a
// field it depends on changed.
func (ed *editor) recheck(entry *formEntry) {
	for _, c := range ed.checks {
		if c.entry == entry && c.err.Visible() {
			c.run()
		}
	}
}

// field returns entry with its error line under it, and registers the
// check that Save and Test run. Once an error shows, it is checked again as
// the person types, so it goes away as soon as the value is right. Enter
// in the field saves.
func (ed *editor) field(entry *formEntry, flow string, check func(string) error) fyne.CanvasObject {
	c := fieldCheck{entry: entry, err: widget.NewLabel(""), check: check, flow: flow}
	c.err.Importance = widget.DangerImportance
	c.err.Wrapping = fyne.TextWrapWord
	c.err.Hide()
	entry.OnChanged = func(string) {
		if c.err.Visible() {
			c.run()
		}
	}
	entry.OnSubmitted = func(string) { ed.submit() }
	ed.checks = append(ed.checks, c)
	return container.NewVBox(entry, c.err)
}

func (ed *editor) checkName(name string) error {
	if ed.mode == editorEdit {
		return nil
	}
	if err := store.ValidateProfileName(name); err != nil {
		return err
	}
	if slices.Contains(ed.w.names(), name) {
		return fmt.Errorf("a profile named %q exists already; choose another name", name)
	}
	return nil
}

// requiredSecret requires a secret unless a stored one is kept: stored says
// whether the profile edited or duplicated has one.
func (ed *editor) requiredSecret(what string, stored bool) func(string) error {
	return func(s string) error {
		switch {
		case s != "":
			return nil
		case ed.keepsSecrets() && stored:
			return nil
		case ed.mode != editorAdd && stored:
			return fmt.Errorf("Enter the %s: the stored one goes only to %s with the same client.", what, ed.original.BaseURL)
		}
		return fmt.Errorf("Enter the %s.", what)
	}
}

// keepsSecrets says whether blank secret fields take the stored secrets of
// the profile edited or duplicated, as the form stands. Call it on the Fyne
// thread.
func (ed *editor) keepsSecrets() bool {
	text := func(e *formEntry) string { return strings.TrimSpace(e.Text) }
	return ed.keepsSecretsFor(store.Profile{Flow: ed.selectedFlow(), BaseURL: text(ed.baseURL), ClientKey: text(ed.clientKey), ClientID: text(ed.clientID)})
}

// keepsSecretsFor says whether p may take the stored secrets of the profile
// edited or duplicated: only while it speaks to the same server as the same
// client. Otherwise whoever sits at the desk could send a secret the window
// never shows to a server of their choosing.
func (ed *editor) keepsSecretsFor(p store.Profile) bool {
	return ed.mode != editorAdd && profile.SameClient(p, ed.original)
}

func required(message string) func(string) error {
	return func(s string) error {
		if s == "" {
			return errors.New(message)
		}
		return nil
	}
}

// checkProxy allows what `tokentray proxy --listen` allows: nothing, or a
// loopback address or unix socket.
func checkProxy(addr string) error {
	if addr == "" {
		return nil
	}
	_, err := proxy.ParseAddress(addr)
	return err
}

// checkSub holds the sub to the rules of the sub type chosen.
func (ed *editor) checkSub(sub string) error {
	return auth.CheckSub(ed.subType.Selected, sub)
}

// uniqueName is name, or name-2, name-3… when taken.
func uniqueName(name string, taken []string) string {
	candidate := name
	for i := 2; slices.Contains(taken, candidate); i++ {
		candidate = fmt.Sprintf("%s-%d", name, i)
	}
	return candidate
}

// validate runs every check of the chosen flow, showing each error, and
// returns the profile the form describes.
func (ed *editor) validate() (store.Profile, bool) {
	flow := ed.selectedFlow()
	valid := true
	for _, c := range ed.checks {
		if c.flow != "" && c.flow != flow {
			c.err.Hide()
			continue
		}
		valid = c.run() && valid // check them all, so every error shows
	}
	network, err := auth.ParseNetwork(ed.network.Selected)
	if !valid || err != nil {
		return store.Profile{}, false
	}
	text := func(e *formEntry) string { return strings.TrimSpace(e.Text) }
	p := store.Profile{Name: text(ed.name), Flow: flow, BaseURL: text(ed.baseURL)}
	if addr, err := proxy.ParseAddress(text(ed.proxy)); err == nil {
		p.Proxy = addr.String() // as `tokentray proxy` saves it
	}
	switch flow {
	case store.FlowIdentity:
		p.ClientKey, p.Network = text(ed.clientKey), network
		p.DeviceModel, p.DeviceVersion = text(ed.model), text(ed.version)
		if ed.keepsSecretsFor(p) {
			// The window cannot sign in; a signed-in account stays one.
			p.UID, p.SignatureTimestamp = ed.original.UID, ed.original.SignatureTimestamp
		}
	case store.FlowWeb:
		p.ClientID, p.Sub = text(ed.clientID), text(ed.sub)
		p.Scope = strings.Join(strings.Fields(ed.scope.Text), " ")
		// "user" is the server's default: a profile that never named it
		// does not start sending it.
		if ed.subType.Selected != auth.SubTypeUser || ed.original.SubType == auth.SubTypeUser {
			p.SubType = ed.subType.Selected
		}
	}
	return p, true
}

// typedSecrets are the secrets typed in the form; stored ones fill the
// blanks in secrets. Call it on the Fyne thread.
func (ed *editor) typedSecrets() store.Secrets {
	s := store.Secrets{ClientSecret: strings.TrimSpace(ed.secret.Text)}
	if ed.selectedFlow() == store.FlowWeb {
		s.SessionToken = strings.TrimSpace(ed.session.Text)
	}
	return s
}

// secrets fills the blanks of typed with the stored secrets of the profile
// edited or duplicated. It reads the keychain: call it in the background.
func (ed *editor) secrets(p store.Profile, typed store.Secrets) (store.Secrets, error) {
	if !ed.keepsSecretsFor(p) {
		return typed, nil
	}
	k := ed.w.keychain()
	from := ed.original.Name
	for _, kind := range profile.NeededSecrets(p) {
		if kind.Of(typed) != "" {
			continue
		}
		v, err := k.Secret(from, kind)
		if err != nil {
			return typed, fmt.Errorf("the stored %s of %s could not be read (%w); enter it again", kind, from, err)
		}
		profile.SetSecret(&typed, kind, v)
	}
	return typed, nil
}

// begin validates the form for a save or a test and takes its values, on
// the Fyne thread; ok is false while one runs already or a field is wrong.
func (ed *editor) begin() (p store.Profile, typed store.Secrets, ok bool) {
	if ed.working {
		return store.Profile{}, store.Secrets{}, false
	}
	if p, ok = ed.validate(); !ok {
		return store.Profile{}, store.Secrets{}, false
	}
	return p, ed.typedSecrets(), true
}

// submit validates every field, then saves the profile, has the agent read
// it and shows its token view.
func (ed *editor) submit() {
	p, typed, ok := ed.begin()
	if !ok {
		return
	}
	ed.busy("Saving…")
	ed.w.goBackground(func(ctx context.Context) {
		secrets, err := ed.secrets(p, typed)
		if err == nil {
			// Saving also drops the token of a profile replaced; the
			// proxy is the form's, so clearing the field removes it.
			err = profile.Save(ed.w.configPath, ed.w.keychain(), p, secrets)
		}
		if err != nil {
			ed.w.do(func() { ed.done(); setError(ed.result, "Not saved: ", err) })
			return
		}
		reloadErr := ed.w.agent.Reload(ctx)
		ed.w.do(func() {
			ed.done()
			if err := ed.w.loadProfiles(); err != nil {
				setError(ed.result, "Saved, but the profiles cannot be read again: ", err)
				return
			}
			ed.w.showToken(p.Name)
			if reloadErr != nil && !errors.Is(reloadErr, localapi.ErrNotRunning) {
				if tv, ok := ed.w.screen.(*tokenView); ok {
					setError(tv.message, "Saved, but the agent did not read the profile again: ", reloadErr)
				}
			}
		})
	})
}

// runTest fetches a token with the form's values, saving nothing: the flow
// is built here, in the window's process, and a web grant's refresh token
// is revoked again at once, so a test leaves no live grant behind.
func (ed *editor) runTest() {
	p, typed, ok := ed.begin()
	if !ok {
		return
	}
	ed.busy("Asking " + p.BaseURL + " for a token…")
	ed.w.goBackground(func(ctx context.Context) {
		tok, err := ed.fetch(ctx, p, typed)
		var recordErr error
		if err == nil {
			recordErr = ed.recordTest(ctx, p.Name)
		}
		ed.w.do(func() {
			ed.done()
			if err != nil {
				setError(ed.result, "Test failed: ", err)
				return
			}
			msg := "Test passed: the server granted a token valid for " + localapi.TimeLeft(tok.Expiry.Sub(ed.w.now())) +
				" (until " + formatExpiry(tok.Expiry, ed.w.now()) + ")"
			if tok.Scope != "" {
				msg += " with scope " + tok.Scope
			}
			msg += ". Nothing was saved."
			if recordErr != nil {
				msg += " The access log could not record it: " + recordErr.Error()
			}
			setInfo(ed.result, msg)
			ed.result.Importance = widget.SuccessImportance
			ed.result.Refresh()
		})
	})
}

// recordTest notes in the access log that this process got a token of
// profile by the Test: through the agent, or itself when none runs.
func (ed *editor) recordTest(ctx context.Context, profile string) error {
	err := ed.w.agent.Tested(ctx, profile)
	if !errors.Is(err, localapi.ErrNotRunning) {
		return err
	}
	pid, exe := access.Self()
	_, err = access.Open(access.Path(ed.w.configPath)).Add(access.Record{Time: time.Now().UTC(), Profile: profile, Channel: access.ChannelTest, PID: pid, Exe: exe})
	return err
}

func (ed *editor) fetch(ctx context.Context, p store.Profile, typed store.Secrets) (auth.Token, error) {
	secrets, err := ed.secrets(p, typed)
	if err != nil {
		return auth.Token{}, err
	}
	deviceID, err := store.DeviceID(ed.w.configPath)
	if err != nil {
		return auth.Token{}, err
	}
	return profile.Test(ctx, p, secrets, profile.Device(deviceID, ed.detected, p))
}

func (ed *editor) busy(message string) {
	ed.working = true
	ed.save.Disable()
	ed.test.Disable()
	setInfo(ed.result, message)
}

func (ed *editor) done() {
	ed.working = false
	ed.save.Enable()
	ed.test.Enable()
}

func (ed *editor) content() fyne.CanvasObject { return ed.obj }

func (ed *editor) update(time.Time) {}

func (ed *editor) focus(c fyne.Canvas) {
	if ed.mode == editorEdit {
		c.Focus(ed.baseURL)
		return
	}
	c.Focus(ed.name)
}
