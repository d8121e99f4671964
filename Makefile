# veritrial: two commands for a newcomer.
#   make demo   builds the binary and shows the system working end to end
#   make test   runs every test (unit, property, CLI and node tests)

GO      ?= go
BIN     := bin/veritrial
PKGS    := ./...
GOFLAGS ?=

.PHONY: all build wasm test race vet fmt-check xmllint chromium demo bench clean localnet localnet-stop

all: build

build: wasm
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/veritrial

# The web pages' WebAssembly module and Go's loader for it, built into
# the assets the binary embeds (app/webui, docs/WEB.md); never in git.
# curve25519-voi needs the force64bit tag under WebAssembly.
WEBUI := app/webui/assets

wasm:
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $(WEBUI)/wasm_exec.js
	GOOS=js GOARCH=wasm $(GO) build $(GOFLAGS) -tags force64bit -trimpath -ldflags=-s -o $(WEBUI)/veritrial.wasm ./app/webui/wasm

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi

# The ODM export tests validate against the ODM 1.3.2 schema (vendored in
# app/export/testdata/odm1.3.2) with xmllint, Debian package libxml2-utils:
# installed when missing, and make test stops if it cannot be.
xmllint:
	@command -v xmllint >/dev/null || (apt-get update && apt-get install -y libxml2-utils) || \
		{ echo "error: xmllint is missing and could not be installed (apt-get install libxml2-utils): the ODM schema tests need it" >&2; exit 1; }

# The web pages' tests (TestBrowser...) drive a headless Chromium, Debian
# package chromium: installed when missing; under CI=1 the tests fail
# without it, otherwise they skip and say so.
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium) || \
		if [ -n "$$CI" ]; then echo "error: chromium is missing and could not be installed (apt-get install chromium): the browser tests need it" >&2; exit 1; \
		else echo "warning: chromium is missing and could not be installed: the browser tests (TestBrowser...) skip" >&2; fi

# CheckTx and queries run while blocks execute (app/concurrency_test.go),
# and reads append to the access log concurrently; the race detector
# checks that locking. It needs cgo and a C compiler.
race:
	@if command -v gcc >/dev/null || (apt-get update && apt-get install -y gcc); then \
		$(GO) test $(GOFLAGS) -race -count=1 -run 'Concurrent|TxCache' ./app ./app/accesslog; \
	else echo "warning: no C compiler for the race detector: the concurrency test ran without it"; fi

test: fmt-check vet xmllint chromium wasm race
	$(GO) test $(GOFLAGS) -count=1 -timeout 15m $(PKGS)

demo: build
	$(GO) build $(GOFLAGS) -o bin/fillcells ./tools/fillcells
	bash tools/demo/demo.sh $(BIN) bin/fillcells

# A four-organisation consortium on this machine (sponsor, site-1, site-2,
# regulator), generated once into LOCALNET_DIR; every node runs in the
# background with DIR/<org>/node.log and node.pid.
LOCALNET_DIR  ?= .tmp/localnet
LOCALNET_PORT ?= 26656

localnet: build
	bash testnet/localnet.sh start $(BIN) $(LOCALNET_DIR) $(LOCALNET_PORT)

localnet-stop:
	bash testnet/localnet.sh stop $(BIN) $(LOCALNET_DIR)

# make bench: the Go benchmarks, the FinalizeBlock+Commit curve against
# stored item values, and loadgen runs of veritrial against CometBFT's
# kvstore baseline (one node, four validators), within BENCH_BUDGET; writes
# results/bench-<date>.json and prints the table (docs/PERFORMANCE.md).
BENCH_BUDGET ?= 20m
BENCH_FLAGS  ?=

bench:
	$(GO) run ./tools/bench --budget $(BENCH_BUDGET) $(BENCH_FLAGS)

clean:
	rm -rf bin
