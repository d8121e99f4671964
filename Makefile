# veritrial: two commands for a newcomer.
#   make demo   builds the binary and shows the system working end to end
#   make test   runs every test (unit, property, CLI and node tests)

GO      ?= go
BIN     := bin/veritrial
PKGS    := ./...
GOFLAGS ?=

.PHONY: all build test vet fmt-check demo bench clean

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/veritrial

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi

test: fmt-check vet
	$(GO) test $(GOFLAGS) -count=1 -timeout 15m $(PKGS)

demo: build
	$(GO) build $(GOFLAGS) -o bin/fillcells ./tools/fillcells
	bash tools/demo/demo.sh $(BIN) bin/fillcells

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./protocol/ ./app/...

clean:
	rm -rf bin
