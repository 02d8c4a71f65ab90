# nslab — make targets. Run as root: the lab creates namespaces and links.
GO      ?= go
BIN     := bin/nslab
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
PREFIX  ?= /usr/local

.PHONY: all build run test test-short bench lint install soak fuzz check-leftovers list-lab clean

all: build

# Static, without cgo: nothing here needs libc, and a worker that maps it
# pays ~1.3 MiB more RSS (libc's pages, malloc arenas for threads).
build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/nslab
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o bin/nslab-proxy ./cmd/nslab-proxy

## run: build and start the lab
run: build
	./$(BIN)

## test: format and vet, then every test (privileged ones need root), the
## engine, the proxy and the lab language under the race detector, then
## prove that nothing the lab made is left on the machine.
RACE_PKGS := ./lab/ ./lab/proxy/ ./lab/script/
test: lint build
	@$(MAKE) --no-print-directory -s list-lab > .leftovers-before
	$(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -v -x -e '.*/nslab/lab' -e '.*/nslab/lab/proxy' -e '.*/nslab/lab/script')
	$(GO) test -race -count=1 -timeout 25m $(RACE_PKGS)
	@$(MAKE) --no-print-directory check-leftovers

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

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/nslab
	install -D -m 0755 bin/nslab-proxy $(DESTDIR)$(PREFIX)/bin/nslab-proxy

clean:
	rm -rf bin
