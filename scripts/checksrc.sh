#!/usr/bin/env bash
# Fails if code under src/ or tests/unit/ calls a banned function (see CONTRIBUTING.md).
# Comment lines (starting with '*', '/*' or '//') are skipped; snprintf/vsnprintf are allowed.
set -u
cd "$(dirname "$0")/.." || exit 2

banned='sprintf|vsprintf|strcpy|strcat|strncpy|atoi|atol|atoll|strtol|strtoul|strtoll|strtoull|sscanf|gets'
# Not preceded by an identifier character (so snprintf, fgets, my_atoi do not match),
# optional spaces, then '('.
pattern="(^|[^A-Za-z0-9_])($banned)[[:space:]]*\\("

mapfile -t files < <(find src tests/unit -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)

bad=0
for f in "${files[@]}"; do
    hits=$(grep -nE "$pattern" "$f" | grep -vE '^[0-9]+:[[:space:]]*(\*|/\*|//)') || true
    if [ -n "$hits" ]; then
        while IFS= read -r line; do
            echo "$f:$line"
        done <<<"$hits"
        bad=1
    fi
done

if [ "$bad" -ne 0 ]; then
    echo "checksrc: banned function call(s) found (see CONTRIBUTING.md)" >&2
    exit 1
fi
echo "checksrc: OK (${#files[@]} files)"
