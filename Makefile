# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1:8000
# Every absolute link (emails, invitations, the banner, password reset) is built from
# this one setting; make run serves on HOST, so the links point there too.
export PORTAL_BASE_URL ?= http://$(HOST)

.PHONY: install run demo test lint fmt screenshots clean bench faults test-fast messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# axe-core, from its npm package, for the browser tests' accessibility checks (tests/axe.py).
AXE_VERSION := 4.14.1
AXE_JS := $(VENV)/axe/node_modules/axe-core/axe.min.js
$(AXE_JS):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION)

demo: install
	$(PY) manage.py migrate --noinput --verbosity 0
	$(PY) manage.py load_demo

# The demo's legacy order-entry database; production sources name their own variables.
export DEMO_ORDER_ENTRY_DSN ?= sqlite:///$(CURDIR)/var/demo-estate/order_entry.sqlite3
export DEMO_CONTRACTS_DSN ?= sqlite:///$(CURDIR)/var/demo-estate/contracts.sqlite3
export DEMO_LEGACY_API_TOKEN ?= demo-legacy-token

# The portal, and beside it the demo's old help desk and CRM APIs (stopped with it).
run: demo
	$(PY) manage.py demo_legacy_api & api=$$!; trap "kill $$api 2>/dev/null" EXIT INT TERM; \
	$(PY) manage.py serve_demo $(HOST)

# The whole suite against real PostgreSQL and Redis (throwaway servers unless
# DATABASE_URL / REDIS_URL are set), browser tests included.
# Beside it, the API once more on the embedded default make run serves (SQLite, tasks
# inline, no Redis), the schema fuzz at a smaller budget; its report follows the suite's.
# The suite runs in TEST_WORKERS parallel processes (pytest-xdist; xdist_group marks say which
# tests stay together). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 3
# Python keeps the compiled modules, and pytest the test modules with their asserts
# rewritten, in __pycache__ (ignored by git) for the next process and the next run: where
# the machine turns that off (PYTHONDONTWRITEBYTECODE), each test process spends about 5 s
# of CPU compiling them again.
unexport PYTHONDONTWRITEBYTECODE
EMBEDDED_LOG := var/test-embedded.log

test: install $(AXE_JS) lint
	@mkdir -p var
	env -u DATABASE_URL -u REDIS_URL API_FUZZ_EXAMPLES=5 \
		$(VENV)/bin/pytest tests/test_api.py tests/test_api_fuzz.py -q >$(EMBEDDED_LOG) 2>&1 & \
	embedded=$$!; \
	scripts/with-services.sh $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS); \
	suite=$$?; wait $$embedded; embedded=$$?; \
	echo "== The API on the embedded default (SQLite, tasks inline, no Redis):"; \
	cat $(EMBEDDED_LOG); test $$suite -eq 0 && test $$embedded -eq 0

# For local work: the suite without the browser tests and those that start real processes
# (workers, servers), which `make test` still runs.
test-fast: install
	scripts/with-services.sh $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup \
		-m "not browser and not slow" -q $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var staticfiles

# README screenshots from the demo, served for the occasion on a spare port.
screenshots: demo
	$(PY) manage.py runserver 127.0.0.1:8765 --noreload >/dev/null 2>&1 & pid=$$!; \
	sleep 3; PORTAL_URL=http://127.0.0.1:8765 $(PY) scripts/screenshots.py; status=$$?; \
	kill $$pid; exit $$status

# Benchmarks against real PostgreSQL in a throwaway database (docs/benchmarks.md).
# BENCH_ARGS picks benchmarks and sizes, e.g. BENCH_ARGS="sla_scan --tickets 50000";
# BENCH_PAGES_ARGS the page benchmark's, e.g. BENCH_PAGES_ARGS="--orders 100000 --duration 5".
# BENCH_LOAD_ARGS the load test's, e.g. BENCH_LOAD_ARGS="--organisations 300 --orders 30000".
bench: install
	scripts/with-services.sh $(PY) scripts/bench.py $(BENCH_ARGS)
	scripts/with-services.sh $(PY) scripts/bench_pages.py $(BENCH_PAGES_ARGS)
	scripts/with-services.sh $(PY) scripts/bench_value.py $(BENCH_VALUE_ARGS)
	scripts/with-services.sh $(PY) scripts/bench_health.py $(BENCH_HEALTH_ARGS)
	scripts/with-services.sh $(PY) scripts/bench_load.py $(BENCH_LOAD_ARGS)
	scripts/with-services.sh $(PY) scripts/bench_pack.py $(BENCH_PACK_ARGS)
	scripts/with-services.sh $(PY) scripts/bench_identity.py $(BENCH_IDENTITY_ARGS)

# The whole fault suite against real processes (docs/production.md): kill -9 of the pool and
# of the whole worker, PostgreSQL restarted, Redis stopped and hung, the legacy database away
# for 60 s, drop files replaced and still being written. Minutes long: `make test` runs only
# its fast part. -s shows the recovery times measured.
faults: install
	PORTAL_FAULTS_FULL=1 scripts/with-services.sh $(VENV)/bin/pytest -s -p no:randomly \
		tests/test_faults.py tests/test_sync_worker.py tests/test_celery_worker.py \
		portal/sync/tests/test_drop_claims.py portal/sync/tests/test_task_retries.py $(PYTEST_ARGS)

# The translations (config/locale, README "Translations"): every string marked in templates
# and Python goes into the German catalogue (new ones with an empty msgstr, to translate),
# then the catalogue is compiled. The .mo is committed: `make run` needs no gettext.
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=staticfiles --ignore=tests \
	--ignore='*/tests/*' --ignore=scripts --ignore=docs --ignore=customer_portal.egg-info
messages: install
	$(PY) manage.py makemessages --locale=de --extension=html,txt,py --add-location=file \
		--no-obsolete $(MESSAGES_IGNORE)
	$(PY) manage.py compilemessages --locale=de $(MESSAGES_IGNORE)
