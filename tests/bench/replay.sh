#!/usr/bin/env bash
# Passive replay speed (issue 10), part of make bench: build/bench/capture_replay writes two
# captures (100k small UDP flows; 4 bulk TCP flows) and replays each as fast as possible on one
# core, then the section "## Passive replay" of docs/benchmarks.md is rewritten.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${BUILD:-$ROOT/build}
DOC=$ROOT/docs/benchmarks.md
PACKETS=${REPLAY_PACKETS:-1000000}
ROUNDS=${REPLAY_ROUNDS:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "bench: passive replay, $PACKETS packets x $ROUNDS rounds per capture" >&2
{
	echo "## Passive replay"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`tests/bench/replay.sh\` (part of \`make bench\`):"
	echo "user/capture.c replaying a pcap file from the page cache as fast as possible (\`spind -r FILE -F\`'s"
	echo "packet source), one core, every packet handed on as flow deltas (checked). Target: >= 1 M packets/s."
	echo
	taskset -c 1 "$B/bench/capture_replay" "$PACKETS" "$ROUNDS"
	echo
} >"$TMP/section.md"
cat "$TMP/section.md"
if [ "${BENCH_NO_DOC:-0}" != 1 ] && [ -f "$DOC" ]; then
	awk -v sec="$TMP/section.md" '
		/^## Passive replay/ { while ((getline l < sec) > 0) print l; skip = 1; next }
		skip && /^## / { skip = 0 }
		!skip { print }
		END { if (!seen) {} }' "$DOC" >"$TMP/doc.md"
	grep -q '^## Passive replay' "$TMP/doc.md" || cat "$TMP/section.md" >>"$TMP/doc.md"
	cp "$TMP/doc.md" "$DOC"
fi
