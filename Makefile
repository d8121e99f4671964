# veritrial: two commands for a newcomer.
#   make demo   builds the binary and shows the system working end to end
#   make test   runs every test (unit, property, CLI and node tests)

GO      ?= go
BIN     := bin/veritrial
PKGS    := ./...
GOFLAGS ?=

.PHONY: all build wasm test race vet fmt-check xmllint iproute2 openpyxl poppler chromium demo bench soak release release-check clean localnet localnet-stop

all: build

build: wasm
	$(GO) build $(GOFLAGS) -ldflags "-X main.commit=$(RELEASE_COMMIT)" -o $(BIN) ./cmd/veritrial

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

# The partition tests (testnet/partition_test.go) put each validator in a
# network namespace of its own with iproute2's ip, Debian package iproute2:
# installed when missing, and make test stops if it cannot be. They also
# need root; without it they are skipped, and fail with CI set.
iproute2:
	@command -v ip >/dev/null || test -x /usr/sbin/ip || test -x /sbin/ip || (apt-get update && apt-get install -y iproute2) || \
		{ echo "error: ip is missing and could not be installed (apt-get install iproute2): the network partition tests need it" >&2; exit 1; }

# The workbook export tests open the workbook with openpyxl in read-only
# mode (which trusts each sheet's dimension), Debian package
# python3-openpyxl: installed when missing, and make test stops if it
# cannot be.
openpyxl:
	@python3 -c 'import openpyxl' 2>/dev/null || /usr/bin/python3 -c 'import openpyxl' 2>/dev/null || \
		(apt-get update && apt-get install -y python3-openpyxl) || \
		{ echo "error: openpyxl is missing and could not be installed (apt-get install python3-openpyxl): the workbook reader test needs it" >&2; exit 1; }

# The casebook tests (app/export TestCasebookText) read the PDF casebooks
# back with pdftotext, Debian package poppler-utils (which also gives
# pdftoppm to look at rendered pages): installed when missing, and make
# test stops if it cannot be.
poppler:
	@command -v pdftotext >/dev/null || (apt-get update && apt-get install -y poppler-utils) || \
		{ echo "error: pdftotext is missing and could not be installed (apt-get install poppler-utils): the casebook tests need it" >&2; exit 1; }

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

test: fmt-check vet xmllint iproute2 openpyxl poppler chromium wasm race
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
BENCH_BUDGET ?= 40m
BENCH_FLAGS  ?=

bench:
	$(GO) run ./tools/bench --budget $(BENCH_BUDGET) $(BENCH_FLAGS)

# make soak: one node with its default memory settings under saturated
# load for SOAK_DURATION, its resident memory and Go heap sampled, then
# veritrial doctor timed on the store it built; writes
# results/soak-<date>.json and heap profiles (docs/PERFORMANCE.md).
SOAK_DURATION ?= 30m
SOAK_FLAGS    ?=

soak:
	$(GO) run ./tools/soak --duration $(SOAK_DURATION) $(SOAK_FLAGS)

# make release: the binary for each of RELEASE_TARGETS under dist/, named
# veritrial-<release>-<os>-<arch>, with dist/SHA256SUMS. The builds are
# reproducible: no cgo, no file paths (-trimpath), an empty build ID, the
# release and commit stamped with -X, so two builds of one commit with one
# Go version are byte-identical (make release-check builds twice, the
# second time with an empty build cache, and compares).
RELEASE         ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
RELEASE_COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
RELEASE_TARGETS ?= linux/amd64 linux/arm64 darwin/arm64
RELEASE_DIR     ?= dist
RELEASE_LDFLAGS  = -buildid= -X main.version=$(RELEASE) -X main.commit=$(RELEASE_COMMIT)

release:
	rm -rf $(RELEASE_DIR) && mkdir -p $(RELEASE_DIR)
	@for t in $(RELEASE_TARGETS); do os=$${t%/*}; arch=$${t#*/}; out=$(RELEASE_DIR)/veritrial-$(RELEASE)-$$os-$$arch; \
		echo "building $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -buildvcs=false -ldflags "$(RELEASE_LDFLAGS)" -o $$out ./cmd/veritrial || exit 1; \
	done
	cd $(RELEASE_DIR) && sha256sum veritrial-* > SHA256SUMS && cat SHA256SUMS

release-check:
	$(MAKE) release RELEASE_DIR=.tmp/release-a RELEASE_TARGETS=linux/amd64
	GOCACHE=$$(mktemp -d) $(MAKE) release RELEASE_DIR=.tmp/release-b RELEASE_TARGETS=linux/amd64
	cmp .tmp/release-a/SHA256SUMS .tmp/release-b/SHA256SUMS && echo "two builds of $(RELEASE_COMMIT) are byte-identical"

clean:
	rm -rf bin
