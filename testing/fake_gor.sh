#!/bin/bash
# A stand-in for gor (which cannot be installed here) for the mirror tests: a real
# process that records the command line it was started with and stays up until it gets
# SIGTERM or SIGINT, as gor does. Each start writes its arguments, NUL-separated, to
# "$FAKE_GOR_DIR/<nanoseconds>-<pid>.argv" (so the files sort in start order) and prints
# one line, as gor prints its stats.
#
# The kernel runs it as "/bin/bash <this file> <args…>": the mirror updater recognises a
# gor that is a script by that command line.
dir="${FAKE_GOR_DIR:-/tmp}"
printf '%s\0' "$@" > "$dir/.$$.tmp" && mv "$dir/.$$.tmp" "$dir/$(date +%s%N)-$$.argv"
echo "fake gor $$ started with $# arguments"
trap 'kill "$child" 2>/dev/null; exit 0' TERM INT
sleep infinity &
child=$!
wait "$child"
