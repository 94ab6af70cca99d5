# Nimbus support bot. `make run` starts it; `make test` runs every test.
# Two environments: Rasa 3.6 needs Python 3.10, the knowledge engine (LanceDB, openai)
# needs Python 3.11 with pydantic 2 / numpy 2. Each is reinstalled only when its
# requirements or constraints change.

SHELL := /bin/bash
RASA_VENV := .venv-rasa
ACTIONS_VENV := .venv-actions
RASA_PY := $(RASA_VENV)/bin/python
ACTIONS_PY := $(ACTIONS_VENV)/bin/python
PIP_FLAGS := --disable-pip-version-check --progress-bar on
export HF_HUB_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: telegram-webhook install run chat test test-fast test-e2e lint ingest train lock clean help

help:
	@echo "make run    - install what is missing, ingest, train, start the bot"
	@echo "make chat   - talk to the running bot in this terminal"
	@echo "make test   - run the whole test suite (test-fast, then test-e2e)"
	@echo "make test-fast - unit tests only, no servers started (about 3 minutes)"
	@echo "make test-e2e  - end to end: real Rasa, action server, Redis, stand-ins"
	@echo "make ingest - (re)ingest knowledge/articles incrementally"
	@echo "make lint   - ruff, and the layer rules (import-linter)"

install: $(RASA_VENV)/.installed $(ACTIONS_VENV)/.installed

$(RASA_VENV)/.installed: requirements/rasa.txt constraints/rasa.txt pyproject.toml
	@PY=$$(scripts/find-python.sh 3.10) || exit 1; \
	echo "==> Rasa environment ($$PY): installing, this takes a few minutes the first time"; \
	[ -x $(RASA_PY) ] || $$PY -m venv $(RASA_VENV); \
	$(RASA_PY) -m pip install $(PIP_FLAGS) -q "pip<25" && \
	$(RASA_PY) -m pip install $(PIP_FLAGS) -r requirements/rasa.txt -c constraints/rasa.txt && \
	$(RASA_PY) -m pip install $(PIP_FLAGS) -q --no-deps -e . && touch $@

$(ACTIONS_VENV)/.installed: requirements/actions.txt constraints/actions.txt pyproject.toml
	@PY=$$(scripts/find-python.sh 3.11) || exit 1; \
	echo "==> Action-server environment ($$PY): installing, this takes a few minutes the first time"; \
	[ -x $(ACTIONS_PY) ] || $$PY -m venv $(ACTIONS_VENV); \
	$(ACTIONS_PY) -m pip install $(PIP_FLAGS) -r requirements/actions.txt -c constraints/actions.txt && \
	$(ACTIONS_PY) -m pip install $(PIP_FLAGS) -q --no-deps -e . && touch $@

run: install
	@PYTHONWARNINGS=ignore $(RASA_PY) scripts/stack.py

chat:
	@$(RASA_PY) scripts/chat.py

# Tell Telegram where to deliver updates: make telegram-webhook URL=https://host/webhooks/telegram/webhook
telegram-webhook: $(RASA_VENV)/.installed
	@set -a; [ -f .env ] && . ./.env; set +a; $(RASA_PY) -m connectors.telegram.register $(URL)

ingest: $(ACTIONS_VENV)/.installed
	$(ACTIONS_PY) -m knowledge.cli ingest knowledge/articles

train: $(RASA_VENV)/.installed
	$(RASA_PY) -c "import sys; sys.path.insert(0, 'scripts'); import stack; stack.train_model()"

# Two lanes. test-fast: unit tests of every package, nothing started but loopback stand-ins
# (a local redis-server for the dedupe store, a throwaway PostgreSQL cluster for the PostgreSQL
# paths: tests/postgres.py). test-e2e: the real servers, a trained model, Redis; a missing
# redis-server or PostgreSQL is an error, never a skip.
test: install
	@status=0; $(MAKE) --no-print-directory test-fast || status=1; \
	$(MAKE) --no-print-directory test-e2e || status=1; exit $$status

test-fast: install
	@set -o pipefail; status=0; \
	echo "==> Unit tests in the action-server environment (knowledge engine, actions)"; \
	$(ACTIONS_PY) -m pytest tests/contract tests/knowledge tests/actions -q -p no:cacheprovider || status=1; \
	echo "==> Unit tests in the Rasa environment (connectors, rasa_ext, bench)"; \
	$(RASA_PY) -m pytest tests/connectors tests/rasa_ext tests/bench -m "not model" -q -p no:cacheprovider || status=1; \
	exit $$status

test-e2e: install
	@echo "==> End-to-end tests in the Rasa environment (trained model, real servers)"
	$(RASA_PY) -m pytest tests/e2e tests/rasa_ext -m model -q -p no:cacheprovider

lint: install
	$(ACTIONS_VENV)/bin/ruff check .
	$(ACTIONS_VENV)/bin/ruff format --check .
	$(ACTIONS_VENV)/bin/lint-imports

lock:
	(echo "# Pinned by 'make lock' (pip freeze of the Rasa environment). Installs use it as constraints."; \
	 $(RASA_VENV)/bin/pip freeze --exclude-editable | grep -vi nimbus-support-bot) > constraints/rasa.txt
	(echo "# Pinned by 'make lock' (pip freeze of the action-server environment). Installs use it as constraints."; \
	 $(ACTIONS_VENV)/bin/pip freeze --exclude-editable | grep -vi nimbus-support-bot) > constraints/actions.txt

clean:
	rm -rf .data .rasa
