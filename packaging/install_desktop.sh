#!/usr/bin/env bash
# Put Melodex Studio in the desktop's application menu and make it open .melodex files, for the unpacked bundle:
#   "Melodex Studio/install-desktop-entry.sh"            (into ~/.local/share; --uninstall removes it again)
# Installs the launcher (Exec pointing at this folder), the icons, the AppStream metainfo and the MIME type.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
RES="$HERE/_internal/resources"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
APP=io.melodex.Studio
MIME=application-x-melodex-project
files=("applications/$APP.desktop" "metainfo/$APP.metainfo.xml" "mime/packages/$APP.xml"
       "icons/hicolor/scalable/apps/$APP.svg" "icons/hicolor/scalable/mimetypes/$MIME.svg")
for size in 16 24 32 48 64 128 256 512; do
    files+=("icons/hicolor/${size}x${size}/apps/$APP.png" "icons/hicolor/${size}x${size}/mimetypes/$MIME.png")
done

if [[ "${1:-}" == "--uninstall" ]]; then
    for f in "${files[@]}"; do rm -f "$DATA/$f"; done
else
    install -D -m 644 "$RES/mime/$APP.xml" "$DATA/mime/packages/$APP.xml"
    install -D -m 644 "$RES/$APP.metainfo.xml" "$DATA/metainfo/$APP.metainfo.xml"
    install -D -m 644 "$RES/icons/$APP.svg" "$DATA/icons/hicolor/scalable/apps/$APP.svg"
    install -D -m 644 "$RES/icons/$MIME.svg" "$DATA/icons/hicolor/scalable/mimetypes/$MIME.svg"
    for size in 16 24 32 48 64 128 256 512; do
        for kind in apps mimetypes; do
            name=$APP; [[ $kind == mimetypes ]] && name=$MIME
            install -D -m 644 "$RES/icons/hicolor/${size}x${size}/$kind/$name.png" \
                "$DATA/icons/hicolor/${size}x${size}/$kind/$name.png"
        done
    done
    mkdir -p "$DATA/applications"
    exe="$HERE/melodex-studio"
    sed -e "s|^Exec=.*|Exec=\"${exe//|/\\|}\" %f|" -e "s|^TryExec=.*|TryExec=${exe//|/\\|}|" \
        "$RES/$APP.desktop" > "$DATA/applications/$APP.desktop"
fi
command -v update-mime-database >/dev/null && update-mime-database "$DATA/mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
echo "Melodex Studio ${1:+un}installed in $DATA"
