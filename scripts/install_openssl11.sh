#!/usr/bin/env bash
# Puts OpenSSL 1.1 (libssl.so.1.1, libcrypto.so.1.1) into .vendor/openssl11/ for Aspose.OCR.
#
# Why: aspose-ocr-python-net bundles .NET Core 3.1, which aborts the whole process at start-up
# unless it finds OpenSSL 1.1; Debian 12 ships only OpenSSL 3. Debian 11's security archive still
# has `libssl1.1`, so this script downloads that .deb with apt (signature-checked, through the
# Debian mirror this machine's apt is already configured with) into a private apt state, unpacks
# it and keeps only the two libraries. Nothing is installed system-wide.
#
# Idempotent: a no-op when the libraries are present. Exits 1 with the reason when they cannot be
# fetched (no apt, no Debian mirror configured, no network); Aspose.OCR then reports itself
# unavailable and the other engines still work.
#
# Environment: ASPOSE_OPENSSL_DIR (target folder, default .vendor/openssl11), ASPOSE_OPENSSL_DEB (a
# libssl1.1 .deb downloaded elsewhere, for machines without access to a Debian mirror).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${ASPOSE_OPENSSL_DIR:-.vendor/openssl11}

if [ -f "$target/libssl.so.1.1" ] && [ -f "$target/libcrypto.so.1.1" ]; then
  exit 0
fi

fail() {
  echo "install_openssl11: $*" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

deb=${ASPOSE_OPENSSL_DEB:-}
if [ -z "$deb" ]; then
  command -v apt-get >/dev/null || fail "apt-get not found; download Debian bullseye-security's libssl1.1 .deb by hand and rerun with ASPOSE_OPENSSL_DEB=/path/to/it.deb"
  # The security archive this machine already uses (deb822 'URIs:' or one-line 'deb URI ...'),
  # else its Debian archive with '-security' appended: no host is named here.
  apt_sources=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v '^[[:space:]]*#' || true)
  mirror=$(grep -oE 'https?://[^][ ]*/debian-security/?' <<<"$apt_sources" | head -n1 || true)
  if [ -z "$mirror" ]; then
    archive=$(grep -oE 'https?://[^][ ]*/debian/?' <<<"$apt_sources" | head -n1 || true)
    [ -n "$archive" ] && mirror="${archive%/}-security"
  fi
  [ -n "$mirror" ] || fail "no Debian mirror in /etc/apt/sources.list*; rerun with ASPOSE_OPENSSL_DEB=/path/to/libssl1.1_*.deb"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || fail "$keyring is missing (apt-get install debian-archive-keyring)"

  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts"
  echo "deb [signed-by=$keyring] ${mirror%/} bullseye-security main" >"$work/sources.list"
  apt_options=(
    -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/parts"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=$(id -un)"
  )
  echo "install_openssl11: fetching libssl1.1 from ${mirror%/} bullseye-security"
  apt-get "${apt_options[@]}" -qq --error-on=any update >"$work/apt.log" 2>&1 \
    || fail "apt-get update for bullseye-security failed: $(tail -n 3 "$work/apt.log")"
  (cd "$work" && apt-get "${apt_options[@]}" -qq download libssl1.1 >>"$work/apt.log" 2>&1) \
    || fail "apt-get download libssl1.1 failed: $(tail -n 3 "$work/apt.log")"
  deb=$(ls "$work"/libssl1.1_*.deb)
fi

[ -f "$deb" ] || fail "$deb does not exist"
dpkg-deb -x "$deb" "$work/unpacked" || fail "cannot unpack $deb"
mkdir -p "$target"
for library in libssl.so.1.1 libcrypto.so.1.1; do
  found=$(find "$work/unpacked" -name "$library" -type f | head -n1)
  [ -n "$found" ] || fail "$deb holds no $library"
  cp "$found" "$target/$library"
done
echo "install_openssl11: OpenSSL 1.1 libraries are in $target"
