# The project's commands. `make run` and `make test` are all a newcomer needs.
# The service image's Python (3.11) when this machine has it, so local runs match Cloud Run.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080
PIP_VERSION := 26.3
UV_VERSION := 0.13.9
SAY := @printf '\033[1m==> %s\033[0m\n'
# One line naming the fix, instead of gunicorn's traceback, when something already answers on the port.
PORT_FREE = $(BIN)/python -c 'import socket, sys; sys.exit(socket.socket().connect_ex(("127.0.0.1", $(PORT))) == 0)' \
	|| { echo "port $(PORT) is in use: stop the other server or run make $@ PORT=$$(($(PORT) + 1))"; exit 1; }

.PHONY: help install run run-firestore test lint format bench profile bench-python loadtest system-deps lock deploy clean
.DEFAULT_GOAL := help

help:  ## this list
	@echo "make run    the bot on http://127.0.0.1:$(PORT) (SQLite, web chat)   make test   every test"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'
	@echo
	@echo "make deploy takes the region and service the bootstrap was given, when not the defaults:"
	@echo "  make deploy PROJECT=my-project REGION=europe-west1 SERVICE=my-bot   (the bootstrap prints this line)"

install: $(VENV)/.installed  ## virtualenv with runtime and test dependencies

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(SAY) "creating the virtualenv in $(VENV) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==$(PIP_VERSION)
	$(SAY) "installing the service's pinned, hashed requirements (about a minute the first time)"
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	$(SAY) "installing the test and lint tools (hashed too)"
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

run: install  ## the bot on http://127.0.0.1:8080 with SQLite and the web chat page (PORT=8081 for another port)
	@$(PORT_FREE)
	$(SAY) "starting the bot: open http://127.0.0.1:$(PORT) (Ctrl-C stops it)"
	@# As the image runs it (nginx in front of gunicorn, deploy/serve.sh) when nginx is installed.
	@export HOST=127.0.0.1 PORT=$(PORT) WEB_CONCURRENCY=$${WEB_CONCURRENCY:-2}; \
	if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then \
		PATH="$(CURDIR)/$(BIN):$$PATH" deploy/serve.sh; \
	else \
		echo "nginx is not installed (make system-deps): gunicorn alone, without the front that holds slow clients"; \
		$(BIN)/gunicorn -c gunicorn.conf.py 'app:create_app()'; \
	fi

run-firestore: install  ## the same, with state in the Firestore emulator
	@$(PORT_FREE)
	scripts/run-firestore.sh

test: install system-deps  ## every test, the Firestore emulator and the browser included; fails if none ran
	$(SAY) "checking skills.json"
	$(BIN)/flask --app app skills check
	$(SAY) "running every test (the Firestore emulator starts once; about 10-15 minutes on 2 vCPUs)"
	@# The time it took, at the end: docs/deploy.md's figure for the pipeline's test step is this one.
	@start=$$(date +%s); status=0; $(BIN)/python -m pytest || status=$$?; \
	took=$$(( $$(date +%s) - start )); \
	printf '\033[1m==> the tests took %d min %02d s (%s CPUs here)\033[0m\n' $$((took / 60)) $$((took % 60)) "$$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')"; \
	exit $$status

bench: install  ## cold start, time to reply, throughput, CPU, memory, Firestore operations, cost (bench/results.md)
	$(SAY) "benchmarks against the baselines, on the Firestore emulator (about 5 minutes, 5 steps)"
	$(BIN)/python bench/run.py
	$(SAY) "written: bench/results.md, bench/history.json and the chart bench/history.svg"

profile: install  ## where a Messenger message's CPU goes, ours and the baseline's (bench/cpu_profile.py)
	$(SAY) "profiling 300 messages each, every thread (about a minute)"
	$(BIN)/python bench/cpu_profile.py

bench-python: install  ## our cold start and CPU on Python 3.11, 3.12 and 3.13 where installed (bench/python.md)
	$(SAY) "one virtualenv per Python under .bench-venvs (installed once), then 5 rounds of measurements"
	$(BIN)/python bench/pythons.py

loadtest: install  ## 100 users per channel for 60 s; a flooder; a 10,000-person broadcast; 10,000 hostile bodies (loopback)
	$(SAY) "1/4 load: 100 users per channel for 60 s with redeliveries and failing sends"
	$(BIN)/python bench/loadtest.py --users 100 --seconds 60
	$(SAY) "1b/4 the same load while a worker is killed every 5 s: nothing lost, nobody getting more messages twice than kills"
	$(BIN)/python bench/loadtest.py --users 100 --seconds 60 --kill-every 5
	$(SAY) "2/4 flood: one person sends 1,000 messages in a minute while 50 chat (three 60 s phases)"
	$(BIN)/python bench/floodtest.py --flood 1000 --seconds 60 --users 50
	$(SAY) "3/4 a broadcast to 10,000 people by two runs at once (about 7 minutes at 25 a second)"
	$(BIN)/python bench/broadcasttest.py --people 10000
	$(SAY) "4/4 10,000 hostile bodies per webhook"
	$(BIN)/python bench/malformed.py --bodies 10000

lint: install system-deps  ## ruff check and format, mypy (the doors, chatbot/, mentor/), the skills check, shellcheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/flask --app app skills check
	@if command -v shellcheck >/dev/null; then shellcheck scripts/*.sh deploy/*.sh .ci/run; else echo "shellcheck not installed: shell scripts not checked"; fi

format: install  ## ruff format and the fixes ruff can make
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

system-deps:  ## headless Chromium and its driver (browser tests) and shellcheck (lint), through apt
	@scripts/system-deps.sh

lock:  ## recompile the pinned, hashed requirements (runtime and dev)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile --quiet --python-version 3.11 --generate-hashes requirements.in -o requirements.txt
	$(BIN)/uv pip compile --quiet --python-version 3.11 --generate-hashes requirements-dev.in -o requirements-dev.txt

deploy:  ## run the Cloud Build trigger on main now, as a git push does (PROJECT=, else GOOGLE_CLOUD_PROJECT, else gcloud's; REGION=us-central1, SERVICE=mentor-bot unless given)
	@project="$(PROJECT)"; [ -n "$$project" ] || project="$${GOOGLE_CLOUD_PROJECT:-}"; \
	[ -n "$$project" ] || project=$$(gcloud config get-value project 2>/dev/null); \
	if [ -z "$$project" ]; then echo "no project: run make deploy PROJECT=my-project, or gcloud config set project my-project" >&2; exit 2; fi; \
	echo "running the trigger $(or $(SERVICE),mentor-bot)-deploy on main in $$project ($(or $(REGION),us-central1); REGION= and SERVICE= name another)"; \
	gcloud builds triggers run "$(or $(SERVICE),mentor-bot)-deploy" --project="$$project" --region="$(or $(REGION),us-central1)" --branch=main

clean:  ## remove the virtualenv, caches, test output and the local database
	rm -rf $(VENV) .bench-venvs .pytest_cache .ruff_cache .mypy_cache .hypothesis test-artifacts chatbot.db chatbot.db-* .firestore-emulator.log skills.json.checked
