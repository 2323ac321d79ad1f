#!/usr/bin/env bash
# Every warning and error the binaries log must be findable in the operator
# guide's troubleshooting section: the leading text of each WB_LOG(WARNING),
# WB_LOG(ERROR) and warning/error LogLine site (tests/docs/log_messages.pl
# finds them in the source) appears there in backquotes.
#   tests/docs/guide_messages_test.sh [SOURCE_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
guide="$root/docs/operator-guide.md"
[[ -f $guide ]] || { echo "no operator guide at $guide" >&2; exit 1; }

section=$(awk '/^## 10\. Troubleshoot/{on=1} on' "$guide")
[[ -n $section ]] || { echo "$guide has no '## 10. Troubleshoot' section" >&2; exit 1; }

sites=$(cd "$root" && find agent controller common -name '*.cc' | sort |
  xargs perl "$root/tests/docs/log_messages.pl")
count=$(grep -c . <<<"$sites" || true)
# A floor, so that a broken extraction cannot pass by finding nothing.
(( count >= 50 )) || { echo "found only $count log messages: is the extraction broken?" >&2; exit 1; }

missing=0
while IFS=$'\t' read -r where text; do
  if ! grep -qF -- "\`$text" <<<"$section"; then
    echo "$where: \"$text\" is not in the guide's troubleshooting section" >&2
    missing=$((missing + 1))
  fi
done <<<"$sites"
if (( missing > 0 )); then
  echo "$missing of $count warning/error log messages are missing from $guide" >&2
  exit 1
fi
echo "all $count warning/error log messages are in $guide"
