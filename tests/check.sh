#!/usr/bin/env bash
# The project's one test command (CI runs it through .ci/run):
#   tests/check.sh
# 1. installs the real programs the end-to-end tests start, when missing (Debian/apt);
# 2. cargo fmt --check, clippy with -D warnings, every test (end-to-end included), a short run of
#    every fuzz target (nightly), rustdoc with -D warnings. Stops at the first failing step and
#    exits non-zero.
set -euo pipefail

cd "$(dirname "$0")/.."

# Debian packages the tests need, and the program each provides (checked on PATH, /usr/sbin and
# /usr/bin like the fixtures do). nginx is the baseline of the proxy benchmark (smoke-run by the tests);
# haproxy balances the replica tests and the replica benchmark.
REQUIRED="docker-registry:docker-registry skopeo:skopeo podman:podman slapd:slapd ldap-utils:ldapsearch nginx:nginx haproxy:haproxy"
# The Kubernetes tests render deploy/kubernetes/ with `kubectl kustomize` (any kubectl: Debian's
# 1.20 and newer ones render it alike).
REQUIRED="$REQUIRED kubernetes-client:kubectl"
# The ctr tests start a containerd of their own (Debian's containerd ships containerd and ctr).
REQUIRED="$REQUIRED containerd:containerd containerd:ctr"
# The token request shapes are sent with the real curl.
REQUIRED="$REQUIRED curl:curl"
# The compose test: the docker CLI; dockerd when no daemon answers (the test then starts one by
# hand); Debian's docker-compose unless `docker compose` (v2) works.
REQUIRED="$REQUIRED docker.io:docker"
docker info >/dev/null 2>&1 || REQUIRED="$REQUIRED docker.io:dockerd"
docker compose version >/dev/null 2>&1 || REQUIRED="$REQUIRED docker-compose:docker-compose"

banner() {
    printf '\n==== %s ====\n' "$*"
}

have_program() {
    PATH="$PATH:/usr/sbin:/usr/bin" command -v "$1" >/dev/null 2>&1
}

install_missing() {
    local missing=() entry package program
    for entry in $REQUIRED; do
        package="${entry%%:*}"
        program="${entry#*:}"
        have_program "$program" || missing+=("$package")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "all present: ${REQUIRED//:/ -> }"
        return
    fi
    echo "missing: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "error: not root and no sudo: install them yourself: apt-get install -y ${missing[*]}" >&2
            exit 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: no apt-get here: install these packages (Debian names): ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    case " ${missing[*]} " in
        *" slapd "*)
            # Keep the package from building its own directory: tests run slapd by hand.
            echo "slapd slapd/no_configuration boolean true" | "${sudo[@]}" debconf-set-selections
            ;;
    esac
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

step() {
    local started=$SECONDS
    banner "$*"
    "$@"
    echo "ok: $* ($((SECONDS - started)) s)"
}

banner "test programs: ${REQUIRED//:/ -> }"
install_missing
step cargo fmt --all --check
step cargo clippy --all-targets -- -D warnings
step cargo test --all-targets
# Every fuzz target for 20 s (nightly; see tests/fuzz-smoke.sh).
step bash tests/fuzz-smoke.sh 20
RUSTDOCFLAGS="-D warnings" step cargo doc --no-deps
banner "all checks passed"
