#!/bin/sh
# embed.sh FILE...: the console's files as C (src/web.h's web_files),
# on standard output.  index.html is served at /, class.html at /class,
# any other file at /NAME.  od(1) does the bytes, so nothing but POSIX
# tools is needed.
set -eu

echo '/* Made by web/embed.sh from web/: do not edit. */'
echo '#include <string.h>'
echo '#include "web.h"'
n=0
for f in "$@"; do
	echo "static const unsigned char file$n[] = {"
	od -An -v -tu1 "$f" | sed -e 's/[0-9][0-9]*/&,/g' -e 's/^ */	/'
	echo "0 };"
	n=$((n + 1))
done
echo 'const struct web_file web_files[] = {'
n=0
for f in "$@"; do
	name=${f##*/}
	case $name in
	index.html) path=/ ;;
	*.html) path=/${name%.html} ;;
	*) path=/$name ;;
	esac
	case $name in
	*.html) type='text/html; charset=utf-8' ;;
	*.css) type='text/css; charset=utf-8' ;;
	*.js) type='text/javascript; charset=utf-8' ;;
	*) echo "embed.sh: $f: no type for it" >&2; exit 1 ;;
	esac
	echo "	{ \"$path\", \"$type\", file$n, sizeof(file$n) - 1 },"
	n=$((n + 1))
done
echo '	{ NULL, NULL, NULL, 0 },'
echo '};'
cat <<'C'

const struct web_file *
web_find(const char *path)
{
	const struct web_file *f;

	for (f = web_files; f->path != NULL; f++)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}
C
