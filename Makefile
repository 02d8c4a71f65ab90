# nslab — make targets. Run as root: the lab creates namespaces and links.
GO      ?= go
BIN     := bin/nslab
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
PREFIX  ?= /usr/local

.PHONY: all build run test test-short bench lint install soak fuzz check-leftovers clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/nslab

## run: build and start the lab
run: build
	./$(BIN)

## test: format and vet, then every test (privileged ones need root), then
## prove that nothing the lab made is left on the machine.
test: lint build
	$(GO) test -count=1 -timeout 25m ./...
	$(MAKE) --no-print-directory check-leftovers

test-short: lint
	$(GO) test -count=1 -short ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...
	./$(BIN) bench

soak: build
	NSLAB_SOAK=1 $(GO) test -count=1 -timeout 80m -run 'Soak' -v ./...

fuzz:
	$(GO) test -run '^$$' -fuzz . -fuzztime 30s ./lab/script/ || true

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...

## check-leftovers fails if any nslab- namespace or link exists on the host.
check-leftovers:
	@ns=$$(ip netns list 2>/dev/null | awk '{print $$1}' | grep '^nslab-' || true); \
	links=$$(ip -br link 2>/dev/null | awk '{print $$1}' | grep 'nslab-' || true); \
	if [ -n "$$ns$$links" ]; then echo "LEFTOVERS after tests:"; echo "$$ns"; echo "$$links"; exit 1; fi; \
	echo "no nslab- namespaces or links left"

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/nslab

clean:
	rm -rf bin
