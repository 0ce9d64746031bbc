# kycflow build and test entry points. `make dev` runs it locally, `make test`
# runs every test; both install what they need.

SHELL     := bash
GO        ?= go
SIM_ADDR  ?= 127.0.0.1:8090

# Tests use a real Redis wherever REDIS_URL is set; point them at the local
# one when it answers (they use an embedded miniredis otherwise).
REDIS_URL ?= $(shell (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && echo redis://127.0.0.1:6379/0)
export REDIS_URL

# Tools the build installs itself, into a git-ignored folder (CI points TOOLS
# at a cache outside its fresh clone). Tests find the CLI through TEMPORAL_CLI.
TOOLS         ?= $(CURDIR)/.tools/bin
WORKFLOWCHECK := $(TOOLS)/workflowcheck
export TEMPORAL_CLI ?= $(TOOLS)/temporal

.PHONY: test unit-test dev sim bench vet fmt-check workflowcheck model-test

## test: format check, vet, workflow determinism check, then every test (unit and
## end-to-end, on a real Temporal dev server) with the race detector, then the
## load harness's small profile and its own tests, alone on the machine
test: fmt-check vet workflowcheck temporal-cli
	$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory loadtest-check

$(WORKFLOWCHECK):
	GOBIN=$(TOOLS) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

## workflowcheck: Temporal's static check for non-determinism in workflow
## code: the onboarding's and the fleet reconciliation's
workflowcheck: $(WORKFLOWCHECK)
	$(WORKFLOWCHECK) -config workflowcheck.yaml ./workflows/ ./reconcile/

unit-test:
	$(GO) test -race -count=1 -short ./...

## model-test: the randomized model test of the onboarding workflow on more
## seeds than make test runs (300, from seed 1). SEEDS seeds from BASE (a
## random one by default), STEPS random steps each; SEED=N replays one seed.
SEEDS ?= 2000
BASE  ?= $(shell echo $$((RANDOM * 32768 + RANDOM + 1)))
STEPS ?=
SEED  ?=
model-test:
	set -o pipefail; KYCFLOW_MODEL_SEEDS=$(SEEDS) KYCFLOW_MODEL_SEED_BASE=$(BASE) KYCFLOW_MODEL_STEPS=$(STEPS) \
		KYCFLOW_MODEL_SEED=$(SEED) $(GO) test -race -count=1 -timeout 0 -v -run 'TestModel$$' ./workflows/ \
		| grep -Ev '^ *(=== (RUN|PAUSE|CONT)|--- PASS)'

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## dev: the whole system locally on embedded defaults (installs the Temporal CLI the first time).
## Its Redis is embedded unless REDIS_URL is given (the one this Makefile finds for the tests is not passed on).
## It starts clean every time, Temporal as the simulator (which keeps its state in memory); the previous run's Temporal
## database is kept as .data/temporal.previous.db. Built, then run (not go run, which exits 1 on Ctrl-C).
dev: temporal-cli
	$(GO) build -o .tools/devstack ./devstack
	KYCFLOW_DEV=1 REDIS_URL=$(if $(filter file,$(origin REDIS_URL)),,$(REDIS_URL)) exec .tools/devstack

.PHONY: config-docs
## config-docs: regenerate docs/configuration.md from the declarations in config/
config-docs:
	$(GO) generate ./config

## sim: the Mangopay Sandbox simulator on $(SIM_ADDR)
sim:
	$(GO) run ./mangopaysim --addr $(SIM_ADDR)

## bench: simulator and client benchmarks
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3s ./mangopaysim/... ./mangopay/...

.PHONY: temporal-cli record-histories release-histories soak loadtest-check

## temporal-cli: the Temporal CLI (dev server) in $(TOOLS), from the Go proxy
## (v1.5.1 is the last release `go install` can build)
temporal-cli:
	@if [ ! -x $(TOOLS)/temporal ]; then \
		echo "installing the Temporal CLI v1.5.1 into $(TOOLS): a few minutes the first time$(if $(CI),, (each package is listed as it builds))"; \
		GOBIN=$(TOOLS) $(GO) install $(if $(CI),,-v) github.com/temporalio/cli/cmd/temporal@v1.5.1; \
	fi

## record-histories: run every onboarding path on a dev server; rewrite the
## unreleased corpus workflows/testdata/histories/unreleased (replayed by
## `make test`) and MEASUREMENTS.md; a released corpus is never rewritten
record-histories: temporal-cli
	KYCFLOW_RECORD_HISTORIES=1 $(GO) test -count=1 -run TestRecordHistories -v ./workflows/

## release-histories: keep the unreleased corpus as release VERSION's
## (workflows/testdata/histories/VERSION, marked RELEASED; see
## docs/workflow-versioning.md); refuses to overwrite one
HISTORIES := workflows/testdata/histories
release-histories:
	@test -n "$(VERSION)" || { echo "usage: make release-histories VERSION=x.y.z"; exit 1; }
	@echo "$(VERSION)" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$$' || { echo "VERSION must be x.y.z"; exit 1; }
	@test ! -e $(HISTORIES)/$(VERSION) || { echo "$(HISTORIES)/$(VERSION) exists: a released corpus is never overwritten"; exit 1; }
	@ls $(HISTORIES)/unreleased/*.json >/dev/null 2>&1 || { echo "no unreleased histories: run make record-histories"; exit 1; }
	cp -R $(HISTORIES)/unreleased $(HISTORIES)/$(VERSION)
	echo "$(VERSION)" > $(HISTORIES)/$(VERSION)/RELEASED

## soak: the load and chaos harness on a larger profile: every fault kind
## SOAK_TIMES times; SOAK_FLAGS adds flags (go run ./loadtest --help)
SOAK_USERS ?= 500
SOAK_RATE  ?= 10
SOAK_TIMES ?= 3
SOAK_FLAGS ?=
soak: temporal-cli
	$(GO) run ./loadtest --users $(SOAK_USERS) --rate $(SOAK_RATE) --chaos all --chaos-times $(SOAK_TIMES) $(SOAK_FLAGS)

## loadtest-check: the load harness's tests (a 200-user profile with every fault
## kind, the fleet profiles on 200 users, the broken deployments it must catch,
## and --target against a dev stack); make test runs it after the other tests
loadtest-check: temporal-cli
	KYCFLOW_LOADTEST=1 $(GO) test -race -count=1 -timeout 40m ./loadtest/...

.PHONY: fleet-open fleet-wave

## fleet-open: OPEN_USERS onboardings left open on one worker: its RSS curve,
## and with OPEN_CACHE set the cost of a sticky-cache miss (go run ./loadtest open --help)
OPEN_USERS ?= 3000
OPEN_CACHE ?= 0
OPEN_FLAGS ?=
fleet-open: temporal-cli
	$(GO) run ./loadtest open --users $(OPEN_USERS) --sticky-cache $(OPEN_CACHE) --heap-profile $(OPEN_FLAGS)

## fleet-wave: WAVE_USERS verified users, 20% downgraded within a minute: all
## reopened, the call budget kept (go run ./loadtest wave --help)
WAVE_USERS ?= 1000
WAVE_FLAGS ?=
fleet-wave: temporal-cli
	$(GO) run ./loadtest wave --users $(WAVE_USERS) $(WAVE_FLAGS)

.PHONY: chaos-loop

## chaos-loop: make test's chaos profile (TestSmallProfileWithChaos: 200 users,
## every fault kind once) RUNS times in a row, each on a fresh seed
## (KYCFLOW_LOADTEST_SEED=N replays one); prints the tally. Each run's table,
## and a failed run's stories, are in $(LOOP_LOG); a failed run's work folder
## is kept (the log says where)
RUNS     ?= 30
LOOP_LOG ?= chaos-loop.log
chaos-loop: temporal-cli
	@start=$$(date +%s); \
	KYCFLOW_LOADTEST=1 $(GO) test -race -count=$(RUNS) -timeout 0 -run 'TestSmallProfileWithChaos$$' -v ./loadtest/harness/ > $(LOOP_LOG) 2>&1; rc=$$?; \
	pass=$$(grep -c -- '--- PASS: TestSmallProfileWithChaos' $(LOOP_LOG)); fail=$$(grep -c -- '--- FAIL: TestSmallProfileWithChaos' $(LOOP_LOG)); \
	echo "chaos-loop: $$pass passed, $$fail failed of $(RUNS) runs in $$(( ($$(date +%s) - start) / 60 )) min (log: $(LOOP_LOG))"; \
	grep -E -- '--- FAIL|seed [0-9]+' $(LOOP_LOG) | sed 's/^ *//' ; exit $$rc
