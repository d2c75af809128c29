#!/bin/sh
# include-cycles.sh [SRCDIR]: fail if the modules of src/ include each
# other in a cycle.
#
# The rule: a module is a header and the .c file of the same name
# (server.c and server.h are module server; a header with no .c, or a
# .c with no header, is a module of its own).  Module A depends on
# module B when A.c or A.h has #include "B.h", for a B.h in src/.  That
# graph must have no cycle.  So no header includes, through any chain
# of headers, one that includes it back, and no .c includes a header
# whose module (its header or its .c, at any depth) includes the .c's
# own header.  System headers (<...>) are not looked at, and every
# #include counts, whatever #if it is under.
#
# tsort(1) does the work: it fails on a cycle and names the modules in
# it.
set -eu

src=${1:-${srcdir:-.}/src}
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

for f in "$src"/*.c "$src"/*.h; do
	from=$(basename "$f")
	from=${from%.*}
	# Every module is a node, even one that includes nothing of src/.
	echo "$from $from" >> "$edges"
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' \
	    "$f" | while read -r to; do
		if [ -f "$src/$to.h" ] && [ "$to" != "$from" ]; then
			echo "$from $to"
		fi
	done >> "$edges"
done

if ! tsort "$edges" > /dev/null; then
	echo "include-cycles: the modules of $src include each other in a" \
	    "cycle (tsort named it above); see the rule in $0" >&2
	exit 1
fi
echo "include-cycles: no cycle among the modules of $src"
