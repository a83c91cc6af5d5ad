#!/usr/bin/env bash
# Peak memory of `outcomes run` on hostile exports (SPEC §9: memory stays bounded; issue 13).
#
#   scripts/hostile/memory.sh BINARY [LIMIT_MB]      (default limit: 300)
#
# Writes four synthetic exports (invented people only) into a temporary folder, runs BINARY on
# each under /usr/bin/time -v, and prints the exit code, the peak resident set and the wall time.
# Exits 1 if a run panicked, was killed, or peaked at LIMIT_MB or more. Not part of `cargo test`:
# the files take ~550 MB of disk and a release build takes seconds on them.
#
#   no_newline_record_200mb     a header, then one row whose last field runs 200 MB without a
#                               line break
#   no_line_break_at_all_200mb  200 MB of `;`-separated text and not one line break: the header
#                               never ends
#   unclosed_quote_row3_100mb   row 3 opens a quote that never closes; 100 MB of rows follow
#   quoted_field_50mb           row 201 holds a quoted field of 50 MB with line breaks in it
set -euo pipefail
bin=$(realpath "$1")
limit_mb=${2:-300}
work=$(mktemp -d /tmp/outcomes-memory.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir -p keys
"$bin" keygen keys/k.key >/dev/null 2>&1

python3 - <<'EOF'
import os

MB = 1 << 20
HEADER = "ЕГН на детето;Име на детето;Вид на случая;Дата на откриване;Дата на приключване;Резултат;Бележки\n"

def row(i):
    return f"C{i:07d};Синтетична Измислена;prevention;01.02.2023;01.06.2023;stayed_with_family;бележка\n"

def write(name, head, block, total, tail=b""):
    os.makedirs(f"{name}/data", exist_ok=True)
    with open(f"{name}/data/export.csv", "wb") as f:
        f.write(head)
        n = len(head)
        while n < total:
            f.write(block)
            n += len(block)
        f.write(tail)

rows = "".join(row(i) for i in range(2000)).encode()
write("no_newline_record_200mb",
      (HEADER + row(1)[:-len("бележка\n")]).encode(),
      "Фиктивна бележка за несъществуващо дете, ул. Въображаема 7; ".encode(), 200 * MB)
write("no_line_break_at_all_200mb",
      HEADER.replace("\n", ";").encode(), rows.replace(b"\n", b";"), 200 * MB)
write("unclosed_quote_row3_100mb",
      (HEADER + row(1) + row(2) + row(3)[:-len("бележка\n")] + '"започва цитат\n').encode(),
      rows, 100 * MB)
write("quoted_field_50mb",
      (HEADER + "".join(row(i) for i in range(200)) + row(200)[:-len("бележка\n")] + '"').encode(),
      'Измислено лице каза ""не"" на 01.01.2024\n'.encode(), 50 * MB,
      ('"\n' + "".join(row(i) for i in range(201, 400))).encode())
EOF

fail=0
printf '%-28s %5s %10s %8s\n' case exit peak_MB wall_s
for name in no_newline_record_200mb no_line_break_at_all_200mb unclosed_quote_row3_100mb quoted_field_50mb; do
  cat > "$name/p.toml" <<EOF
name = "$name"
key_file = "../keys/k.key"
as_of = "2024-12-31"
max_reject_rate = 1.0

[[sources]]
name = "big"
path = "data/*.csv"
region = "VAR"
delimiter = ";"
encoding = "utf-8"

[sources.columns]
child_id = "ЕГН на детето"
case_type = "Вид на случая"
opened = "Дата на откриване"
closed = "Дата на приключване"
outcome = "Резултат"
EOF
  code=0
  /usr/bin/time -v -o "$name/time.txt" "$bin" run "$name/p.toml" --out "$name/out" --quiet \
    >"$name/stdout" 2>"$name/stderr" || code=$?
  peak_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$name/time.txt")
  wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$name/time.txt")
  printf '%-28s %5s %10.1f %8s\n' "$name" "$code" "$(echo "$peak_kb / 1024" | bc -l)" "$wall"
  if grep -q 'panicked\|internal error' "$name/stderr" || [ "$code" -gt 3 ] || [ "$peak_kb" -ge $((limit_mb * 1024)) ]; then
    echo "  FAIL: $(head -c 400 "$name/stderr")"
    fail=1
  fi
  if [ -f "$name/out/manifest.json" ]; then
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); [print("  rows_read %(rows_read)s accepted %(rows_accepted)s rejected %(rows_rejected)s duplicate %(rows_duplicate)s" % i) for i in m["inputs"]]' "$name/out/manifest.json"
    cut -d, -f4 "$name/out/rejects.csv" | sed 1d | sort | uniq -c | sort -rn | head -3 | sed 's/^ */  rejects: /'
    sed -n 2p "$name/out/rejects.csv" | head -c 400 | sed 's/^/  first: /'; echo
  else
    echo "  $(head -c 300 "$name/stderr" | tr '\n' ' ')"
  fi
done
exit $fail
