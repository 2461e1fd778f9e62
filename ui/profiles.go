package ui

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tokentray/tokentray/profile"
	"github.com/tokentray/tokentray/store"
)

// profileList is the home screen: every profile with its state and time
// left, live from the agent's events. Choosing one opens its token view.
type profileList struct {
	w       *Window
	list    *keyList
	message *widget.Label // the outcome of the last action, such as a delete
	obj     fyne.CanvasObject
}

// profileRow is one line of the list; CreateItem builds it once and
// UpdateItem fills it for whichever profile it shows.
type profileRow struct {
	widget.BaseWidget
	icon         *widget.Icon
	name, detail *widget.Label
	state        *widget.Label
	copy         *widget.Button
	title        *fyne.Container
	obj          fyne.CanvasObject
}

func newProfileRow() *profileRow {
	r := &profileRow{
		icon:   widget.NewIcon(nil),
		name:   widget.NewLabel(""),
		detail: widget.NewLabel(""),
		state:  widget.NewLabel(""),
		copy:   widget.NewButtonWithIcon("Copy token", theme.ContentCopyIcon(), nil),
	}
	r.name.TextStyle.Bold = true
	r.detail.Importance = widget.LowImportance
	r.detail.Truncation = fyne.TextTruncateEllipsis
	r.state.Truncation = fyne.TextTruncateEllipsis
	r.title = container.NewBorder(nil, nil, r.name, nil, r.detail)
	text := container.New(layout.NewCustomPaddedVBoxLayout(-2*theme.Padding()), r.title, r.state)
	r.obj = container.NewBorder(nil, nil, container.NewCenter(r.icon), container.NewCenter(r.copy), text)
	r.ExtendBaseWidget(r)
	return r
}

func (r *profileRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(r.obj)
}

func (r *profileRow) show(p store.Profile, st status, copyFn func()) {
	r.name.SetText(p.Name)
	r.detail.SetText(flowName(p.Flow) + " · " + p.BaseURL)
	r.icon.SetResource(st.icon)
	r.state.Importance = st.importance
	r.state.SetText(st.text)
	r.copy.OnTapped = copyFn
	r.title.Refresh() // the name's width changed: lay the line out again
}

func newProfileList(w *Window) *profileList {
	l := &profileList{w: w, message: widget.NewLabel("")}
	l.message.Wrapping = fyne.TextWrapWord
	l.message.Hide()

	l.list = newKeyList(
		func() int { return len(w.profiles) },
		func() fyne.CanvasObject { return newProfileRow() },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(w.profiles) {
				return
			}
			p := w.profiles[id]
			row := o.(*profileRow)
			row.show(p, l.status(p.Name, w.now()), func() {
				w.copyToken(p.Name, false, row.copy, l.message)
			})
		})
	l.list.OnSelected = func(id widget.ListItemID) {
		l.list.UnselectAll()
		if id < len(w.profiles) {
			w.showToken(w.profiles[id].Name)
		}
	}

	settings := widget.NewButtonWithIcon("", theme.SettingsIcon(), w.showSettings)
	add := widget.NewButtonWithIcon("Add profile", theme.ContentAddIcon(), func() {
		w.showEditor(editorAdd, store.Profile{})
	})
	add.Importance = widget.HighImportance
	header := container.NewBorder(nil, nil, nil, container.NewCenter(container.NewHBox(settings, add)), heading("Profiles"))
	footer := container.NewVBox(l.message,
		hint("Choose a profile (arrows and Enter) to see its token; Ctrl+N adds one, Esc goes back. "+
			"Copies leave the clipboard after the delay set in Settings."))
	l.obj = container.NewBorder(header, footer, nil, nil, l.list)
	return l
}

func (l *profileList) status(name string, now time.Time) status {
	e, known := l.w.states[name]
	return profileStatus(e, known, l.w.agentErr, now)
}

func (l *profileList) content() fyne.CanvasObject { return l.obj }

func (l *profileList) update(time.Time) { l.list.Refresh() }

func (l *profileList) focus(c fyne.Canvas) { c.Focus(l.list) }

// keyList is a widget.List that Enter opens too (List takes Space alone),
// and that hands Escape to the window.
type keyList struct {
	widget.List
}

func newKeyList(length func() int, create func() fyne.CanvasObject, update func(widget.ListItemID, fyne.CanvasObject)) *keyList {
	l := &keyList{}
	l.Length, l.CreateItem, l.UpdateItem = length, create, update
	l.ExtendBaseWidget(l)
	return l
}

// TypedKey makes Enter choose the highlighted profile, as Space does.
func (l *keyList) TypedKey(e *fyne.KeyEvent) {
	if e.Name == fyne.KeyReturn || e.Name == fyne.KeyEnter {
		e = &fyne.KeyEvent{Name: fyne.KeySpace, Physical: e.Physical}
	}
	l.List.TypedKey(e)
}

// flowName is how the window names a flow.
func flowName(flow string) string {
	if f, ok := profile.Lookup(flow); ok {
		return f.Label
	}
	return flow
}
