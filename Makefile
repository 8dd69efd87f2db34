# The project's commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080

.PHONY: install run run-firestore test lint format bench loadtest system-deps lock deploy clean

install: $(VENV)/.installed  ## virtualenv with runtime and test dependencies

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: install  ## the bot on http://127.0.0.1:8080 with SQLite and the web chat page
	HOST=127.0.0.1 PORT=$(PORT) WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2} $(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'

run-firestore: install  ## the same, with state in the Firestore emulator
	scripts/run-firestore.sh

test: install system-deps  ## every test; fails if none ran
	$(BIN)/flask --app app skills check
	$(BIN)/python -m pytest

bench: install  ## cold start, throughput, memory, Firestore operations and cost (bench/results.md)
	$(BIN)/python bench/run.py

loadtest: install  ## 100 users per channel for 60 s, redeliveries, failing sends; a flooder; 10,000 hostile bodies (loopback)
	$(BIN)/python tests/loadtest.py --users 100 --seconds 60
	$(BIN)/python tests/floodtest.py --flood 1000 --seconds 60 --users 50
	$(BIN)/python tests/malformed.py --bodies 10000

lint: install system-deps  ## ruff, the skills file, and shell scripts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/flask --app app skills check
	@if command -v shellcheck >/dev/null; then shellcheck scripts/*.sh .ci/run; else echo "shellcheck not installed: shell scripts not checked"; fi

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

system-deps:  ## headless Chromium for the browser tests
	@scripts/system-deps.sh

lock:  ## recompile the pinned requirements
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile --quiet --python-version 3.11 --generate-hashes requirements.in -o requirements.txt
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements-dev.in -o requirements-dev.txt

deploy:  ## run the Cloud Build trigger on main now (a git push does the same)
	gcloud builds triggers run $${SERVICE:-mentor-bot}-deploy --branch=main --region=$${REGION:-us-central1}

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis test-artifacts chatbot.db chatbot.db-* .firestore-emulator.log
