package ui

func loginHint() string {
	return "Adds a LaunchAgent, ~/Library/LaunchAgents/io.github.tokentray.plist, which runs the agent at login."
}
