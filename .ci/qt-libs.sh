#!/usr/bin/env bash
# Install the OS libraries Qt needs when they are missing (Debian/Ubuntu; root or sudo).
#   .ci/qt-libs.sh offscreen   libraries for QT_QPA_PLATFORM=offscreen (tests, CI, chart export)
#   .ci/qt-libs.sh window      plus the xcb libraries a real window needs
set -u
mode=${1:-offscreen}
pairs="libgl1:libGL.so.1 libegl1:libEGL.so.1 libfontconfig1:libfontconfig.so.1 libxkbcommon0:libxkbcommon.so.0
       libglib2.0-0:libglib-2.0.so.0 libdbus-1-3:libdbus-1.so.3 fonts-dejavu-core:DejaVuSans.ttf"
if [ "$mode" = window ]; then
  pairs="$pairs libxcb-cursor0:libxcb-cursor.so.0 libxcb-icccm4:libxcb-icccm.so.4 libxcb-keysyms1:libxcb-keysyms.so.1
         libxkbcommon-x11-0:libxkbcommon-x11.so.0 libxcb-image0:libxcb-image.so.0
         libxcb-render-util0:libxcb-render-util.so.0 libxcb-randr0:libxcb-randr.so.0 libxcb-shape0:libxcb-shape.so.0
         libxcb-xkb1:libxcb-xkb.so.1 libxcb-xinerama0:libxcb-xinerama.so.0"
fi
need=""
for pair in $pairs; do
  lib=${pair#*:}
  if [ "${lib%.ttf}" != "$lib" ]; then
    fc-list 2>/dev/null | grep -q "$lib" || [ -e "/usr/share/fonts/truetype/dejavu/$lib" ] || need="$need ${pair%%:*}"
  else
    ldconfig -p 2>/dev/null | grep -q "$lib" || need="$need ${pair%%:*}"
  fi
done
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Qt needs these OS packages (or your system's equivalents):$need" >&2
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing OS packages Qt needs:$need" >&2
$sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $need >/dev/null \
  || echo "could not install:$need (install them with your package manager)" >&2
exit 0
