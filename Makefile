# privaudit — make demo runs the story end to end; make test sets up and runs every test.
# Both install what they need from Debian's packages when it is missing (run as root,
# or with sudo available).

GO        ?= go
BIN       ?= ./privaudit
DEMO_DIR  ?= /tmp/privaudit-demo
# Fuzz budgets are execution counts, not durations: a duration races Go
# 1.26's fuzz coordinator deadline (golang/go#75804) and fails with "context
# deadline exceeded" on a loaded machine. Each is about 10-30 s on 2 busy cores.
FUZZ_EVENTS   ?= 400000x
FUZZ_CONSENTS ?= 400000x
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT       := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get
PKGS_RUN  := clickhouse-server clickhouse-client
PKGS_TEST := libreoffice-calc-nogui zookeeper chromium
# AXE_DIR holds the console browser tests' pinned axe-core (package.json and
# its lock are committed, node_modules never).
AXE_DIR   := reports/console/testdata
# AXE_CURRENT exits 0 when node_modules holds the axe-core that package.json pins.
export AXE_CURRENT := try { process.exit(require("./node_modules/axe-core/package.json").version === require("./package.json").dependencies["axe-core"] ? 0 : 1) } catch (e) { process.exit(1) }

.PHONY: all build deps deps-test demo test test-short fuzz bench bench-smoke race vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/privaudit

# deps installs Debian's ClickHouse (18.16 on bookworm), the only one these machines get.
deps:
	@missing=""; for p in $(PKGS_RUN); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; \
	  $(APT) update -qq && $(APT) install -y -qq --no-install-recommends $$missing; fi
	@test -x /usr/sbin/clickhouse-server || test -x /usr/bin/clickhouse-server || \
	  { echo "clickhouse-server is still missing: apt-get install clickhouse-server"; exit 1; }

# deps-test adds LibreOffice (the spreadsheet tests open the xlsx in a real program),
# ZooKeeper (the replicated-pair tests start a local cluster), Chromium and axe-core
# from npm (the console's browser tests).
deps-test: deps
	@missing=""; for p in $(PKGS_TEST); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; \
	  $(APT) update -qq && $(APT) install -y -qq --no-install-recommends $$missing; fi
	@command -v npm >/dev/null 2>&1 || { echo "installing npm"; $(APT) update -qq && $(APT) install -y -qq --no-install-recommends npm; }
	@cd $(AXE_DIR) && node -e "$$AXE_CURRENT" || \
	  { echo "installing axe-core into $(AXE_DIR)"; npm ci --no-audit --no-fund --loglevel=error; }

demo: deps build
	rm -rf $(DEMO_DIR)
	$(BIN) demo --data-dir $(DEMO_DIR)

vet:
	$(GO) vet ./...

test: deps-test vet
	$(GO) test -count=1 -timeout 40m ./...
	$(MAKE) race
	$(MAKE) bench-smoke
	$(MAKE) fuzz

# race runs the concurrent heart of ingest — decoder buffers, spool, writers
# — under the race detector.
race:
	$(GO) test -count=1 -race ./audit/ ./audit/spool/ ./audit/ingest/

# bench-smoke runs every Go benchmark once on small data, so a benchmark
# that no longer runs is caught by make test (figures come from make bench).
bench-smoke:
	PRIVAUDIT_BENCH_EVENTS=20000 $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...

test-short: deps
	$(GO) test -count=1 -short ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvents$$' -fuzztime $(FUZZ_EVENTS) ./audit/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeConsents$$' -fuzztime $(FUZZ_CONSENTS) ./audit/

bench: deps build
	rm -rf /tmp/privaudit-bench
	$(BIN) bench --data-dir /tmp/privaudit-bench

# bench-reports times every report against ClickHouse's raw reads (issue 15's table);
# ARGS="--events 1000000 --customers 100000" for a smaller run.
.PHONY: bench-reports
bench-reports: deps build
	rm -rf /tmp/privaudit-bench-reports
	$(BIN) bench reports --data-dir /tmp/privaudit-bench-reports $(ARGS)

# bench-verify times privaudit verify over the data bench-reports loaded
# (run that first) against ClickHouse reading every stored record raw.
.PHONY: bench-verify
bench-verify: deps build
	$(BIN) bench verify --data-dir /tmp/privaudit-bench-reports $(ARGS)

clean:
	rm -f $(BIN)
