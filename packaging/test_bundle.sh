#!/usr/bin/env bash
# Test the desktop bundle the way a user runs it: from another folder, with a minimal environment (a fresh HOME,
# config, data and cache folder; PATH without the project's venv; no PYTHONPATH). Usage:
#   packaging/test_bundle.sh ["dist/Melodex Studio"]
# The bundle ships no SoundFont on Linux: without one on the machine, doctor says what to install and the diffusion
# stems are levelled to plain tones of the notes. MELODEX_TEST_SOUNDFONT=/path/to/GM.sf2 plays the user who chooses
# a SoundFont (packaging/README.md).
set -euo pipefail
BUNDLE="$(cd "${1:-dist/Melodex Studio}" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home" "$WORK/config" "$WORK/run"
cd "$WORK/run"
run() {
    env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache" XDG_DATA_HOME="$WORK/share" \
        MELODEX_DATA_DIR="$WORK/data" "$@"
}
step() { echo "== $*"; }

step "version"
want="$(sed -n 's/^version = "\(.*\)"/\1/p' "$(dirname "$0")/../pyproject.toml" 2>/dev/null || true)"
v1="$(run "$BUNDLE/melodex-studio" --version)"; v2="$(run "$BUNDLE/melodex" --version)"
echo "$v1 / $v2"
[[ "$v1" == "melodex-studio ${want:-}"* && "$v2" == "melodex ${want:-}"* ]]

step "window smoke test (offscreen)"
run "$BUNDLE/melodex-studio" --smoke-test | tee smoke.txt
grep -q "smoke test ok" smoke.txt

if [[ -n "${MELODEX_TEST_SOUNDFONT:-}" ]]; then
    mkdir -p "$WORK/config/melodex-studio"
    printf '{"soundfont": "%s"}\n' "$MELODEX_TEST_SOUNDFONT" > "$WORK/config/melodex-studio/settings.json"
fi

step "melodex doctor --json"
run "$BUNDLE/melodex" doctor --json > doctor.json
grep -q '"ok": true' doctor.json
grep -E '"(name|status)"' doctor.json | paste - - | sed 's/ \+/ /g'

step "melodex generate --wav (the diffusion renderer)"
start=$(date +%s)
run "$BUNDLE/melodex" generate "lofi, 90 bpm, F major, verse 2, chorus 2, piano, bass, drums" -o song.melodex \
    --midi song.mid --wav song.wav --seed 3 --renderer diffusion  # torch and the shipped models, in the bundle
echo "generate took $(( $(date +%s) - start )) s"
for f in song.melodex song.mid song.wav; do
    [[ -s "$f" ]] || { echo "missing $f"; exit 1; }
done
head -c 4 song.wav | grep -q RIFF

if [[ -x "$BUNDLE/install-desktop-entry.sh" ]]; then
    step "install-desktop-entry.sh (into the fresh XDG_DATA_HOME)"
    run "$BUNDLE/install-desktop-entry.sh"
    desktop="$WORK/share/applications/io.melodex.Studio.desktop"
    grep -q "^Exec=\"$BUNDLE/melodex-studio\" %f" "$desktop"
    if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$desktop"; fi
    [[ -s "$WORK/share/icons/hicolor/256x256/apps/io.melodex.Studio.png" ]]
    run "$BUNDLE/install-desktop-entry.sh" --uninstall
    [[ ! -e "$desktop" ]]
fi
ls -la song.*
echo "bundle OK: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
