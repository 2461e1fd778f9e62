# Tokentray: `make run` starts the app, `make test` runs every test, `make
# package` builds the Linux tarball and `make screenshots` shows the window.
# They install the Debian packages they miss first (see .ci/deps).
GO ?= go
BUILD := build
SESSION := .ci/desktop-session
# The packages that link no Fyne get the race detector; the Fyne ones are
# tested without it, as Fyne's own CI does, to keep `make test` short.
# cmd/tokentray's end-to-end tests, the longest, run beside the others.
RACE_PKGS := ./auth/... ./store/... ./profile/... ./agent/... ./internal/...
CMD_PKGS := ./cmd/...
GUI_PKGS := ./ui/... .
# What the Windows and macOS builds are checked by: for Windows all but the
# window's main package (GLFW needs cgo; the rest is pure Go there); for
# macOS, where the tray needs cgo and nothing here can build it, what needs
# no cgo.
WINDOWS_PKGS := ./auth/... ./store/... ./profile/... ./agent/... ./cmd/... ./internal/... ./assets/... ./ui/...
DARWIN_NOCGO_PKGS := ./auth/... ./store/... ./profile/... ./agent/localapi/... ./agent/logging/... ./agent/access/... ./agent/proxy/... \
  ./agent/desktop/... ./agent/clipboard/... ./internal/... ./assets/...

# The packaging CLI, pinned, installed into $(BUILD) by `make package`.
FYNE_TOOLS_VERSION := v1.7.4
FYNE := $(BUILD)/fyne-$(FYNE_TOOLS_VERSION)
VERSION := $(shell sed -n 's/^Version = "\(.*\)"/\1/p' FyneApp.toml)
PACKAGE := $(BUILD)/tokentray-$(VERSION)-linux-$(shell $(GO) env GOARCH).tar.xz
WINDOWS_PACKAGE := $(BUILD)/tokentray-$(VERSION)-windows-amd64.zip

.PHONY: run build test test-race test-cmd test-gui test-windows check deps-build deps-test deps-windows bench package package-windows screenshots clean

run: build
	$(BUILD)/tokentray-gui

# tokentray needs no cgo (it speaks X11 and D-Bus in Go): static, it starts
# faster and idles smaller. The GUI needs cgo for GLFW.
build: deps-build
	CGO_ENABLED=0 $(GO) build -o $(BUILD)/tokentray ./cmd/tokentray
	$(GO) build -o $(BUILD)/tokentray-gui .

# The three runs overlap, each in a desktop session of its own, so that
# their clipboards, trays and keyrings never meet: the tests mostly wait for
# processes, servers and the X server, not for the cores. Each run's output
# shows when it ends. On a machine busy with other work, TEST_JOBS=1 runs
# them one after the other, which leaves the timed tests more of the cores.
TEST_JOBS ?= 3
test: deps-build deps-test check
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target test-race test-cmd test-gui

test-race:
	$(SESSION) $(GO) test -race -count=1 $(RACE_PKGS)

# Its tests wait on the processes they start, so more run at once than
# there are cores, even while those sharing the session's clipboard wait
# for their turn.
test-cmd:
	$(SESSION) $(GO) test -race -count=1 -parallel 8 $(CMD_PKGS)

test-gui:
	$(SESSION) $(GO) test -count=1 $(GUI_PKGS)

# The Windows build's tests, run under Wine on this Linux machine: the
# LocalAPI over its named pipe, Credential Manager, the tray icons, the CLI.
test-windows:
	.ci/test-windows

# Static checks, and the builds for the other desktops auth and store serve.
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=windows CGO_ENABLED=0 $(GO) build ./auth/... ./store/...
	GOOS=darwin CGO_ENABLED=0 $(GO) build ./auth/... ./store/...
	GOOS=windows CGO_ENABLED=0 $(GO) vet $(WINDOWS_PKGS)
	GOOS=darwin CGO_ENABLED=0 $(GO) vet $(DARWIN_NOCGO_PKGS)

bench: deps-build deps-test
	$(SESSION) $(GO) test -run '^$$' -bench . -benchtime 1x ./...

# A tarball people double-click their way into: `fyne package` makes the
# .desktop entry, the icon and an installing Makefile for the GUI; the agent
# goes beside the GUI, which starts it from there.
package: deps-build $(FYNE)
	rm -rf $(BUILD)/package && mkdir -p $(BUILD)/package
	$(GO) build -trimpath -ldflags "-s -w" -o $(BUILD)/package/tokentray-gui .
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BUILD)/package/tokentray ./cmd/tokentray
	$(FYNE) package --target linux --release --executable $(BUILD)/package/tokentray-gui
	tar -xJf Tokentray.tar.xz -C $(BUILD)/package && rm Tokentray.tar.xz
	install -m 0755 $(BUILD)/package/tokentray $(BUILD)/package/tokentray-gui/usr/local/bin/tokentray
	sed -i -e 's|^\(\tinstall -Dm00755 usr/local/bin/\)$$(Exec) \(.*\)/bin/$$(Exec)$$|&\n\1tokentray \2/bin/tokentray|' \
	  -e 's|^\(\t-rm .*/bin/\)$$(Exec)$$|&\n\1tokentray|' $(BUILD)/package/tokentray-gui/Makefile
	grep -q 'usr/local/bin/tokentray ' $(BUILD)/package/tokentray-gui/Makefile
	tar -cJf $(PACKAGE) -C $(BUILD)/package tokentray-gui
	@echo "Built $(PACKAGE)"

# A zip for Windows, cross-built here with mingw: the window as
# tokentray-gui.exe (GUI subsystem, with the icon, manifest and version
# from FyneApp.toml, by `fyne package`) and the agent and CLI as
# tokentray.exe, also GUI subsystem so that the agent started at login opens
# no console. fyne names the window after the app, Tokentray.exe, which on
# NTFS (case-insensitive) would be the agent: it is renamed.
package-windows: deps-windows $(FYNE)
	rm -rf $(BUILD)/package-windows && mkdir -p $(BUILD)/package-windows/Tokentray
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -H=windowsgui" \
	  -o $(BUILD)/package-windows/Tokentray/tokentray.exe ./cmd/tokentray
	rm -f Tokentray.exe
	GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc $(FYNE) package --target windows --release
	mv Tokentray.exe $(BUILD)/package-windows/Tokentray/tokentray-gui.exe
	rm -f $(WINDOWS_PACKAGE)
	cd $(BUILD)/package-windows && zip -qr $(abspath $(WINDOWS_PACKAGE)) Tokentray
	@echo "Built $(WINDOWS_PACKAGE)"

$(FYNE):
	GOBIN=$(abspath $(BUILD)) $(GO) install fyne.io/tools/cmd/fyne@$(FYNE_TOOLS_VERSION)
	mv $(BUILD)/fyne $@

# Screenshots of the window, the token view and the editor, taken by the
# end-to-end GUI test under Xvfb: build/screenshots/{main,token,editor}.png.
screenshots: deps-build deps-test
	$(SESSION) $(GO) test -count=1 -run '^TestGUIWindow$$' .
	@ls $(BUILD)/screenshots/main.png $(BUILD)/screenshots/token.png $(BUILD)/screenshots/editor.png

deps-build:
	@.ci/deps build

deps-test:
	@.ci/deps test

deps-windows:
	@.ci/deps windows

clean:
	rm -rf $(BUILD)
