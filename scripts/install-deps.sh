#!/usr/bin/env bash
# Installs the Debian packages coffer needs for MODE (build|test|bench), only the missing ones.
# As root it runs apt-get (non-interactive); otherwise it names what to install and fails.
set -euo pipefail

usage() {
    echo "usage: $0 build|test|bench" >&2
    exit 2
}
[ $# -eq 1 ] || usage
mode=$1
root=$(cd "$(dirname "$0")/.." && pwd)

build_pkgs=(build-essential pkg-config libmicrohttpd-dev libssl-dev libsqlite3-dev
    libjansson-dev libexpat1-dev zlib1g-dev libcurl4-openssl-dev)
# libtsan2: gcc's ThreadSanitizer runtime (make TSAN=1); clang's is in libclang-rt-dev.
test_pkgs=(libcmocka-dev clang libclang-rt-dev libtsan2 python3-boto3 python3-pytest python3-requests python3-yaml awscli nodejs npm chromium)
# hey: wrk cannot read answers to HEAD (it waits for Content-Length bytes), hey can.
bench_pkgs=(wrk curl hey python3-boto3)

case $mode in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
bench) want=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
*) usage ;;
esac

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# Some tools often come from elsewhere (nodesource's nodejs bundles npm; awscli from pip):
# their command is as good as the Debian package, and installing it could clash.
provided() {
    case $1 in
    npm) command -v npm >/dev/null ;;
    awscli) command -v aws >/dev/null ;;
    nginx) command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ;;
    *) return 1 ;;
    esac
}

missing=()
for p in "${want[@]}"; do
    installed "$p" || provided "$p" || missing+=("$p")
done
# Any nginx flavour will do for the benchmark's reference proxy.
need_nginx=0
if [ "$mode" = bench ] && ! installed nginx-light && ! installed nginx && ! installed nginx-core &&
    ! installed nginx-full && ! provided nginx; then
    need_nginx=1
fi

if [ ${#missing[@]} -gt 0 ] || [ $need_nginx -eq 1 ]; then
    show=("${missing[@]}")
    [ $need_nginx -eq 0 ] || show+=("nginx-light (or nginx)")
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: missing Debian packages: ${show[*]}" >&2
        hint=("${missing[@]}")
        [ $need_nginx -eq 0 ] || hint+=(nginx-light)
        echo "deps: install them as root: apt-get install ${hint[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    echo "deps: apt-get update"
    if ! apt-get update >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        echo "deps: apt-get update failed" >&2
        exit 1
    fi
    if [ $need_nginx -eq 1 ]; then
        if apt-cache show nginx-light >/dev/null 2>&1; then
            missing+=(nginx-light)
        else
            missing+=(nginx)
        fi
    fi
    echo "deps: apt-get install ${missing[*]}"
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        echo "deps: apt-get install failed" >&2
        exit 1
    fi
else
    echo "deps: $mode packages already installed"
fi

# The JS and browser end-to-end tests pin their npm packages in lock files.
for js in "$root/tests/js" "$root/tests/browser"; do
    if [ "$mode" = test ] && [ -f "$js/package-lock.json" ]; then
        if [ ! -d "$js/node_modules" ] || [ "$js/package-lock.json" -nt "$js/node_modules" ]; then
            echo "deps: npm ci in ${js#"$root"/}"
            (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
            touch "$js/node_modules"
        fi
    fi
done
