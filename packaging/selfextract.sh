#!/bin/sh
# Melodex Studio, one file (an AppImage-style self-extracting bundle; made by `make package`).
# The first start unpacks the bundle into ~/.cache/melodex-studio/<version> (about 1 GB), later starts reuse it.
# Run it as `melodex-studio-….run [project.melodex]` for the window, or with `--cli` first for the command line:
#   ./melodex-studio-0.1.0-linux-x86_64.run --cli generate "lofi, 90 bpm" -o song.melodex --wav song.wav
set -e
VERSION="@VERSION@"
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/melodex-studio/$VERSION"
if [ ! -x "$DIR/Melodex Studio/melodex-studio" ]; then
    echo "Melodex Studio $VERSION: unpacking into $DIR (once)…" >&2
    rm -rf "$DIR.partial" && mkdir -p "$DIR.partial"  # an interrupted unpack is never taken for a finished one
    tail -n +$(awk '/^__ARCHIVE_BELOW__$/ { print NR + 1; exit 0 }' "$0") "$0" | tar -xz -C "$DIR.partial"
    rm -rf "$DIR" && mv "$DIR.partial" "$DIR"
fi
exec "$DIR/Melodex Studio/melodex-studio" "$@"
__ARCHIVE_BELOW__
