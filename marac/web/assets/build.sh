#!/usr/bin/env bash
# Build marac's front-end assets into marac/web/static/ (gitignored).
#
#   marac/web/assets/build.sh        (works from any cwd)
#
# Installs govuk-frontend + sass from the lock file (only when the lock file
# has changed since the last install), compiles marac.scss and copies the
# govuk-frontend JS and static assets. Nothing is downloaded at run time of
# the web service; this script is run at set-up time.
set -euo pipefail

start=$(date +%s.%N)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
static="$(cd "$here/.." && pwd)/static"
gf="$here/node_modules/govuk-frontend/dist/govuk"
stamp="$here/node_modules/.marac-install-stamp"

cd "$here"

# --- 1. npm dependencies (skipped when node_modules matches the lock) -------
if [[ -f package-lock.json ]]; then
  want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  if [[ "$want" != "$have" || ! -d "$gf" || ! -x node_modules/.bin/sass ]]; then
    echo "build.sh: npm ci" >&2
    # --ignore-scripts: sass is pure JS; the only install script in the tree
    # is @parcel/watcher's (optional, used by `sass --watch` only).
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
    echo "$want" > "$stamp"
  fi
else
  echo "build.sh: no package-lock.json, running npm install" >&2
  npm install --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
  cat package.json package-lock.json | sha256sum | cut -d' ' -f1 > "$stamp"
fi

# --- 2. Sass -> CSS -----------------------------------------------------------
mkdir -p "$static"
node_modules/.bin/sass \
  --pkg-importer=node \
  --style=compressed \
  --no-source-map \
  --quiet-deps \
  marac.scss "$static/marac.css.tmp"
mv -f "$static/marac.css.tmp" "$static/marac.css"

# --- 3. JavaScript --------------------------------------------------------------
cp -f "$gf/govuk-frontend.min.js" "$gf/govuk-frontend.min.js.map" "$static/"
cp -f init.js "$static/init.js"

# --- 4. govuk-frontend static assets (images + manifest) ------------------------
# The GDS Transport font files are deliberately NOT copied: marac.css does not
# reference them ($govuk-include-default-font-face: false) and the typeface is
# licensed for GOV.UK services only.
rm -rf "$static/assets"
mkdir -p "$static/assets"
cp -R "$gf/assets/images" "$static/assets/images"
cp -f "$gf/assets/manifest.json" "$static/assets/manifest.json"

# --- 5. Check every url(...) in the CSS resolves under $static -------------------
missing=0
while IFS= read -r u; do
  [[ "$u" == data:* || "$u" == http*://* ]] && continue
  rel="${u#/static/}"
  if [[ "$rel" == "$u" || ! -f "$static/$rel" ]]; then
    echo "build.sh: marac.css references missing asset: $u" >&2
    missing=1
  fi
done < <(grep -o 'url([^)]*)' "$static/marac.css" | sed -E 's/^url\(["'\'']?//; s/["'\'']?\)$//' | sort -u)
[[ $missing -eq 0 ]] || exit 1

end=$(date +%s.%N)
gfv="$(node -p 'require("./node_modules/govuk-frontend/package.json").version')"
printf 'build.sh: govuk-frontend %s -> %s (marac.css %s bytes, govuk-frontend.min.js %s bytes) in %.1fs\n' \
  "$gfv" "$static" "$(wc -c < "$static/marac.css")" "$(wc -c < "$static/govuk-frontend.min.js")" \
  "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
