# nslab — make targets. `make run` needs no root (the lab makes a sandbox of
# its own); `make test` runs as root, privileged tests and sandboxed ones.
GO      ?= go
BIN     := bin/nslab
# The version is the last v* tag, with the commits since and the commit's
# hash when HEAD is not the tag itself (v0.2.0-14-g1a2b3c4), as git describe
# says; before the first tag, v0.0.0-N-gHASH with N the commits so far.
VERSION := $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || \
	echo "v0.0.0-$$(git rev-list --count HEAD 2>/dev/null || echo 0)-g$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$$(git diff --quiet HEAD 2>/dev/null || echo -dirty)")
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
PREFIX  ?= /usr/local

.PHONY: all build man run test test-short bench lint install soak fuzz check-leftovers list-lab clean

all: build

# Static, without cgo: nothing here needs libc, and a worker that maps it
# pays ~1.3 MiB more RSS (libc's pages, malloc arenas for threads).
build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/nslab

## man: the manual page, nslab(1), written by the binary from its commands
man: build
	./$(BIN) man > bin/nslab.1

## run: build and start the lab
run: build
	./$(BIN)

## test: format and vet, then every test (privileged ones need root), the
## engine, the proxy and the lab language under the race detector, then
## prove that nothing the lab made is left on the machine.
RACE_PKGS := ./lab/ ./lab/proxy/ ./lab/script/
test: lint build
	@$(MAKE) --no-print-directory -s list-lab > .leftovers-before
	@status=0; \
	echo "go test (all but $(RACE_PKGS))"; \
	$(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -v -x -e '.*/nslab/lab' -e '.*/nslab/lab/proxy' -e '.*/nslab/lab/script') || status=1; \
	echo "go test -race $(RACE_PKGS)"; \
	$(GO) test -race -count=1 -timeout 25m $(RACE_PKGS) || status=1; \
	$(MAKE) --no-print-directory check-leftovers || status=1; \
	exit $$status

test-short: lint
	$(GO) test -count=1 -short ./...

## bench: the Go benchmarks, every `nslab bench` (docs/benchmarks.md), and
## the proxy against HAProxy and socat (left out, and said so, where not
## installed: NSLAB_PEERS=1 .ci/run installs them).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...
	./$(BIN) bench
	./$(BIN) bench proxy --peers

## soak: the long runs, at full size: the proxy never in the wrong tenant
## over 100 000 connections, one tenant's abuse against another, load and
## churn over many tenants.
soak: build
	NSLAB_SOAK=1 $(GO) test -count=1 -timeout 80m -run 'Soak|NeverTheWrongTenant|DoNotStarve' -v ./...

## fuzz: each fuzz target for FUZZTIME (default 30s); -fuzz takes one target at a time
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./lab/script/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./scenarios/
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME) ./lab/proxy/
	$(GO) test -run '^$$' -fuzz '^FuzzControlRequest$$' -fuzztime $(FUZZTIME) ./lab/proxy/
	$(GO) test -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME) ./ui/prose/

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...

## list-lab prints the nslab- namespaces and host links that no running lab
## session owns, one a line (a run or test still going is not a leftover).
list-lab: build
	@./$(BIN) cleanup --orphans

## check-leftovers fails if the tests left an nslab- namespace or link that
## was not there before them (.leftovers-before, written by `make test`).
check-leftovers:
	@touch .leftovers-before; $(MAKE) --no-print-directory -s list-lab > .leftovers-after; \
	new=$$(comm -13 .leftovers-before .leftovers-after); rm -f .leftovers-after; \
	if [ -n "$$new" ]; then echo "LEFTOVERS after tests:"; echo "$$new"; exit 1; fi; \
	echo "no nslab- namespaces or links left by the tests"

## install: the binary, and where AppArmor restricts unprivileged user
## namespaces (Ubuntu 24.04+), a profile that allows them for it alone, so
## that every user's lab gets its sandbox (docs/sandbox.md).
install: build man
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/nslab
	install -D -m 0644 bin/nslab.1 $(DESTDIR)$(PREFIX)/share/man/man1/nslab.1
	@if [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ] || [ -n "$(APPARMOR)" ]; then \
		install -d $(DESTDIR)/etc/apparmor.d; \
		sed 's|@BIN@|$(PREFIX)/bin/nslab|' cmd/nslab/apparmor.d/nslab > $(DESTDIR)/etc/apparmor.d/nslab; \
		echo "installed /etc/apparmor.d/nslab: AppArmor lets $(PREFIX)/bin/nslab (and nothing else) make user namespaces"; \
		if [ -z "$(DESTDIR)" ] && command -v apparmor_parser >/dev/null 2>&1; then apparmor_parser -r /etc/apparmor.d/nslab; fi; \
	fi

clean:
	rm -rf bin
