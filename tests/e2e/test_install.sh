#!/usr/bin/env bash
# 'make install' as docs/install.md shows it: 'make', then 'make install PREFIX=/usr
# DESTDIR=...' (staging for another packager). Every documented file lands under DESTDIR, the
# installed spind's compiled-in web_root is where the UI was installed (it follows PREFIX even
# when the tree was first built with the default one), and 'make uninstall' removes the same
# files but not the configuration. Builds into a directory of its own (OUT), never build/.
set -euo pipefail
# Read by tests/run: a build and file checks, no daemon.
# shellcheck disable=SC2034
SAN_SKIP=1
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"

OUT=$E2E_TMP/out
STAGE=$E2E_TMP/stage
mk() { make -s --no-print-directory -C "$SPIN_TOP" OUT="$OUT" "$@" >>"$E2E_TMP/make.log" 2>&1; }

check_cmd "make (default PREFIX) into a build directory of its own" mk all
check_eq "that spind's web_root is the default PREFIX's" \
	"$("$OUT/spind" -C -c /dev/null | sed -n 's/^web_root = //p')" /usr/local/share/spin/web
check_cmd "make install PREFIX=/usr DESTDIR=stage" mk install PREFIX=/usr DESTDIR="$STAGE"

missing=""
for f in usr/sbin/spind usr/sbin/spinctl usr/sbin/spin-lab usr/lib/spin/spin.bpf.o \
	usr/share/spin/web/index.html usr/share/spin/web/app.js usr/share/man/man1/spinctl.1 \
	usr/share/man/man8/spind.8 etc/spin/spind.conf; do
	[ -e "$STAGE/$f" ] || missing+=" $f"
done
check_eq "every documented file is installed under DESTDIR" "$missing" ""
check_eq "the installed spind serves the UI from where it was installed" \
	"$("$STAGE/usr/sbin/spind" -C -c /dev/null | sed -n 's/^web_root = //p')" /usr/share/spin/web

check_cmd "make uninstall PREFIX=/usr DESTDIR=stage" mk uninstall PREFIX=/usr DESTDIR="$STAGE"
check_eq "uninstall leaves only the configuration" \
	"$(cd "$STAGE" && find . -type f | sort | tr '\n' ' ')" "./etc/spin/spind.conf "

e2e_done
