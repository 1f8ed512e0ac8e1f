#!/usr/bin/env bash
# Checks the system libraries the desktop app needs on Linux (Qt's xcb platform plugin, PortAudio for
# playback). Installs the missing ones with apt-get when run as root; otherwise prints the command.
# Playback (PortAudio) is optional: the app runs without it.
set -u
[ "$(uname -s)" = Linux ] || exit 0
command -v dpkg-query >/dev/null 2>&1 || exit 0   # not Debian/Ubuntu: nothing we can check this way
need=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
      libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3 libportaudio2)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system libraries for the app window and playback: ${missing[*]}"
  (apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }) \
    || echo "warning: could not install ${missing[*]}; the window or playback may not work"
else
  echo "The app window and playback need these system packages: ${missing[*]}"
  echo "Install them with:  sudo apt-get install ${missing[*]}"
fi
exit 0
