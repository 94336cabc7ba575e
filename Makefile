# The two commands a fresh machine needs: `make run` (the dashboard) and `make test` (the suite).
# Each installs what it needs into .venv on first use and is quick afterwards.
VENV := .venv
PORT ?= 8501
PYTEST_ARGS ?=

.PHONY: run test

run:
	@bash scripts/setup.sh app
	$(VENV)/bin/streamlit run streamlit_app.py --server.port $(PORT)

test:
	@bash scripts/setup.sh test
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
