package ui

func loginHint() string {
	return "Adds ~/.config/autostart/io.github.tokentray.desktop, which runs the agent in the tray at login."
}
