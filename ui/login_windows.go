package ui

func loginHint() string {
	return "Adds Tokentray to HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run, which runs the agent at login."
}
