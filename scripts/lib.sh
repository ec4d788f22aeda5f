# shellcheck shell=bash
# Shared helpers for scripts/demo, scripts/test and .ci/run.
# Source it:   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Provides:
#   MARAC_ROOT               absolute path of the repository root
#   log MSG / die MSG        messages on stderr
#   ensure_apt PKG...        install the Debian packages that are missing
#   ensure_weasyprint_libs   system libraries WeasyPrint needs at run time
#   ensure_node              node + npm (for the front-end asset build)
#   ensure_bare_venv         .venv at the repo root, python >= 3.11, nothing installed
#   ensure_venv [EXTRAS]     .venv at the repo root: the locked dependencies, marac editable

MARAC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
MARAC_VENV="$MARAC_ROOT/.venv"

# PDFs bring their own font (templates/pdf/assets/fonts/): Pango needs fontconfig to load it,
# and fonts-dejavu-core is only the fallback for characters Liberation Sans lacks (Arabic,
# Armenian, Georgian ... in a name someone typed), which would otherwise print as boxes.
WEASYPRINT_APT_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fontconfig fonts-dejavu-core)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (not root and no sudo)"
    fi
}

_apt_is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

_MARAC_APT_UPDATED=0

# ensure_apt PKG... — install only the packages that are not installed yet.
# Does nothing (and never touches the network) when all are present.
ensure_apt() {
    local missing=() pkg
    command -v dpkg-query >/dev/null 2>&1 || {
        log "not a Debian-like system; please install manually if needed: $*"
        return 0
    }
    for pkg in "$@"; do
        _apt_is_installed "$pkg" || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [[ $_MARAC_APT_UPDATED -eq 0 ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        _MARAC_APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_weasyprint_libs() {
    ensure_apt "${WEASYPRINT_APT_PACKAGES[@]}"
}

# node/npm may come from Debian (nodejs + npm packages) or from NodeSource
# (nodejs only, npm bundled), so check the commands rather than the packages.
ensure_node() {
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        return 0
    fi
    ensure_apt nodejs npm
}

# Print the first python >= 3.11 on PATH.
_find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# ensure_bare_venv — $MARAC_ROOT/.venv exists with a python >= 3.11 (nothing installed yet).
ensure_bare_venv() {
    local python
    if [[ ! -x "$MARAC_VENV/bin/python" ]] || ! "$MARAC_VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$(_find_python)" || {
            ensure_apt python3
            python="$(_find_python)" || die "python >= 3.11 is required"
        }
        if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
            ensure_apt python3-venv
        fi
        log "creating virtualenv $MARAC_VENV with $python ($("$python" -V 2>&1))"
        rm -rf "$MARAC_VENV"
        "$python" -m venv "$MARAC_VENV"
    fi
}

# ensure_venv [EXTRAS] — make sure $MARAC_ROOT/.venv exists and holds exactly the locked
# versions (requirements/base.txt, or requirements/test.txt for the test and bench extras,
# every file checked against its hash), with marac installed editable on top. Skipped when
# neither the lock file nor pyproject.toml has changed since the last install for it.
# Refresh the lock files with scripts/lock.
ensure_venv() {
    local extras="${1:-}" stamp_file want lock
    ensure_bare_venv

    case "$extras" in
        "") lock="requirements/base.txt" ;;
        test | bench | test,bench | bench,test) lock="requirements/test.txt" ;;
        *) die "ensure_venv: no lock file for extras '$extras'" ;;
    esac
    stamp_file="$MARAC_VENV/.marac-install-${extras:-base}.stamp"
    want="$(cat "$MARAC_ROOT/requirements/pip.txt" "$MARAC_ROOT/$lock" "$MARAC_ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1) lock=$lock"
    if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$want" && -x "$MARAC_VENV/bin/marac" ]]; then
        return 0
    fi

    log "installing the locked dependencies ($lock) and marac into .venv"
    (cd "$MARAC_ROOT" &&
        # pip first, from its own lock: the one a fresh Debian 12 venv holds refuses the main lock (see scripts/lock).
        "$MARAC_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/pip.txt &&
        "$MARAC_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock" &&
        # The build backend came from the lock too: no isolated build fetching its newest version.
        "$MARAC_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .)
    local broken
    broken="$("$MARAC_VENV/bin/python" -m pip check --disable-pip-version-check)" ||
        die "$lock does not satisfy pyproject.toml ($broken): run scripts/lock, then commit requirements/"
    printf '%s\n' "$want" >"$stamp_file"
}

# Print a TCP port on 127.0.0.1 that is free right now (the kernel picks it).
free_port() {
    local python
    python="$(_find_python 2>/dev/null || true)"
    [[ -x "$MARAC_VENV/bin/python" ]] && python="$MARAC_VENV/bin/python"
    [[ -n "$python" ]] || die "free_port needs python"
    "$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Print a random hex token (no pipes: safe under `set -o pipefail`).
random_token() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}
