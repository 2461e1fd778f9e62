# Tokentray: `make run` starts the app, `make test` runs every test. Both
# install the Debian packages they miss first (see .ci/deps).
GO ?= go
BUILD := build
SESSION := .ci/desktop-session
# The packages that link no Fyne get the race detector; the Fyne ones are
# tested without it, as Fyne's own CI does, to keep `make test` short.
RACE_PKGS := ./auth/... ./store/... ./agent/... ./cmd/...
GUI_PKGS := ./ui/... .

.PHONY: run build test check deps-build deps-test bench clean

run: build
	$(BUILD)/tokentray-gui

# tokentray needs no cgo (it speaks X11 and D-Bus in Go): static, it starts
# faster and idles smaller. The GUI needs cgo for GLFW.
build: deps-build
	CGO_ENABLED=0 $(GO) build -o $(BUILD)/tokentray ./cmd/tokentray
	$(GO) build -o $(BUILD)/tokentray-gui .

test: deps-build deps-test check
	$(SESSION) $(GO) test -race -count=1 $(RACE_PKGS)
	$(SESSION) $(GO) test -count=1 $(GUI_PKGS)

# Static checks, and the builds for the other desktops auth and store serve.
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=windows CGO_ENABLED=0 $(GO) build ./auth/... ./store/...
	GOOS=darwin CGO_ENABLED=0 $(GO) build ./auth/... ./store/...

bench: deps-build deps-test
	$(SESSION) $(GO) test -run '^$$' -bench . -benchtime 1x ./...

deps-build:
	@.ci/deps build

deps-test:
	@.ci/deps test

clean:
	rm -rf $(BUILD)
