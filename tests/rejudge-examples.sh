#!/bin/sh
# Judge every example again and save what each output says, for a byte-for-byte diff across a
# change:  tests/rejudge-examples.sh /tmp/before   (on the old tree)
#          tests/rejudge-examples.sh /tmp/after /tmp/before   (on the new tree: saves, then diffs)
# The JSON (report --json), the terminal text (full and --brief), the HTML page, compare (text,
# JSON, HTML), explain and every --help; only the generated_at time stamps are not compared.
set -u
out=${1:?usage: rejudge-examples.sh OUT_DIR [BEFORE_DIR]}
cd "$(dirname "$0")/.." || exit 2
rm -rf "$out"
mkdir -p "$out"
gp() { python3 -m guestprobe "$@"; }
for f in examples/*.tar.gz; do
    b=$(basename "$f" .tar.gz)
    gp report --json "$f" > "$out/$b.json"
    COLUMNS=100 gp report "$f" > "$out/$b.txt"
    COLUMNS=100 gp report --brief "$f" > "$out/$b.brief.txt"
    gp report --html "$out/$b.html" "$f" > /dev/null
done
gp compare examples/mixed.tar.gz examples/two-paths.tar.gz > "$out/compare.txt"
gp compare --json --html "$out/compare.html" examples/mixed.tar.gz examples/two-paths.tar.gz \
    > "$out/compare.json"
gp explain > "$out/explain.txt"
for r in checks/*.toml; do
    n=$(basename "$r" .toml)
    gp explain "$n" > "$out/explain-$n.txt" 2>&1
done
gp --help > "$out/help.txt"
for c in scan report collect compare fencing-test explain exit-statuses; do
    gp "$c" --help > "$out/help-$c.txt"
done
gp exit-statuses > "$out/exit.txt"
if [ $# -ge 2 ]; then
    diff -r -I 'generated[_ ]' "$2" "$out" && echo "identical: $(ls "$out" | wc -l) files"
fi
