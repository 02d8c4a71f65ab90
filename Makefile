# nslab — make targets. Run as root: the lab creates namespaces and links.
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

## test: format and vet, then every test (privileged ones need root), then
## prove that nothing the lab made is left on the machine.
test: lint build
	@$(MAKE) --no-print-directory -s list-lab > .leftovers-before
	$(GO) test -count=1 -timeout 25m ./...
	@$(MAKE) --no-print-directory check-leftovers

test-short: lint
	$(GO) test -count=1 -short ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...
	./$(BIN) bench

soak: build
	NSLAB_SOAK=1 $(GO) test -count=1 -timeout 80m -run 'Soak' -v ./...

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

install: build man
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/nslab
	install -D -m 0644 bin/nslab.1 $(DESTDIR)$(PREFIX)/share/man/man1/nslab.1

clean:
	rm -rf bin
