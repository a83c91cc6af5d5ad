#!/usr/bin/env python3
"""Check Parquet files against SPEC §6 ("standard and plain"), with the newest pyarrow.

    python format_check.py FILE [FILE ...]

Prints one JSON line per file: {"file", "created_by", "violations": [...], "notes": [...]}.
Violations (each fails scripts/readers/check.sh):

- a string column (by name from SPEC §6, or any BYTE_ARRAY or string-typed column) that is
  not physical BYTE_ARRAY with logical type STRING (or the old converted type UTF8);
- in the embedded Arrow schema (key-value metadata `ARROW:schema`, when present) a string
  column typed other than `string` (or dictionary<string>): `string_view` breaks
  pyarrow < 15, `large_string` is a 64-bit offsets type that nothing here needs; likewise
  binary_view / large_binary anywhere;
- `opened`, `closed` not INT32 with logical type DATE;
- counts (`numerator`, `denominator`) not INT64; other integer columns (`year`,
  `birth_year`, `source_line`) not signed INT32/INT64;
- pseudonyms (`child`, `family`, `case`) that are not 32 lowercase hex characters;
- a label column none of whose column chunks is dictionary-encoded (PLAIN_DICTIONARY or
  RLE_DICTIONARY among its encodings).
"""

from __future__ import annotations

import base64
import json
import re
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Column names from SPEC §6.
STRING_COLUMNS = {
    "child", "family", "case", "region", "municipality", "office", "case_type", "outcome",
    "placement_type", "placement_region", "sex", "source", "measure", "region_name_bg",
    "region_name_en", "status", "funnel",
    # programmes.parquet (SPEC §10)
    "programme", "group", "period",
}
LABEL_COLUMNS = [
    "case_type", "outcome", "region", "status", "measure", "sex", "placement_type",
    "placement_region", "municipality", "office", "source",
    # programmes.parquet (SPEC §10)
    "programme", "group", "period",
]
DATE_COLUMNS = ["opened", "closed"]
COUNT_COLUMNS = ["numerator", "denominator"]
OTHER_INT_COLUMNS = ["year", "birth_year", "source_line"]
PSEUDONYM_COLUMNS = ["child", "family", "case"]
PSEUDONYM_RE = "^[0-9a-f]{32}$"
DICT_ENCODINGS = {"PLAIN_DICTIONARY", "RLE_DICTIONARY"}


def logical(col) -> dict:
    lt = col.logical_type
    try:
        out = json.loads(lt.to_json())
    except Exception:  # noqa: BLE001 - old pyarrow: only the type name
        out = {"Type": str(lt)}
    out["_name"] = str(getattr(lt, "type", out.get("Type", ""))).upper()
    return out


def arrow_type_problems(name: str, typ: pa.DataType) -> list[str]:
    """string_view / large_string / *_view / large_binary anywhere inside the type."""
    bad = []
    text = str(typ)
    for word in ("string_view", "large_string", "binary_view", "large_binary", "large_utf8"):
        if re.search(r"\b" + word + r"\b", text):
            bad.append(word)
    return [f"{name}: embedded Arrow schema has {text}; SPEC §6 wants string"] if bad else []


def is_stringish(typ: pa.DataType) -> bool:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    return (pa.types.is_string(typ) or pa.types.is_large_string(typ)
            or getattr(pa.types, "is_string_view", lambda t: False)(typ))


def check(path: str) -> dict:
    pf = pq.ParquetFile(path)
    md = pf.metadata
    violations: list[str] = []
    notes: list[str] = []
    schema = pf.schema  # Parquet schema
    leaves = {schema.column(i).path: (i, schema.column(i)) for i in range(len(schema))}

    kv = md.metadata or {}
    arrow_schema = None
    if b"ARROW:schema" in kv:
        try:
            arrow_schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(kv[b"ARROW:schema"])))
        except Exception as exc:  # noqa: BLE001
            violations.append(f"ARROW:schema metadata does not decode: {type(exc).__name__}: {exc}")
    else:
        notes.append("no embedded ARROW:schema")
    if arrow_schema is not None:
        for field in arrow_schema:
            violations += arrow_type_problems(field.name, field.type)
            if pa.types.is_dictionary(field.type):
                notes.append(f"{field.name}: embedded Arrow type {field.type}")
    inferred = pf.schema_arrow

    def arrow_type(name):
        for s in (arrow_schema, inferred):
            if s is not None and name in s.names:
                return s.field(name).type
        return None

    # strings
    string_cols = [p for p, (_, c) in leaves.items()
                   if p in STRING_COLUMNS or c.physical_type == "BYTE_ARRAY"
                   or (arrow_type(p) is not None and is_stringish(arrow_type(p)))]
    for p in string_cols:
        _, c = leaves[p]
        lt = logical(c)
        if c.physical_type != "BYTE_ARRAY":
            violations.append(f"{p}: physical type {c.physical_type}, want BYTE_ARRAY (string)")
        elif lt["_name"] != "STRING" and c.converted_type != "UTF8":
            violations.append(f"{p}: BYTE_ARRAY with logical type {lt['_name'] or 'none'}"
                              f" / converted {c.converted_type}, want STRING (UTF8)")

    # dates
    for p in DATE_COLUMNS:
        if p not in leaves:
            continue
        _, c = leaves[p]
        if c.physical_type != "INT32" or logical(c)["_name"] != "DATE":
            violations.append(f"{p}: {c.physical_type} / logical {logical(c)['_name'] or 'none'}, want INT32 DATE")

    # integers
    for p in COUNT_COLUMNS + OTHER_INT_COLUMNS:
        if p not in leaves:
            continue
        _, c = leaves[p]
        lt = logical(c)
        signed = lt["_name"] in ("NONE", "") or (lt["_name"] == "INT" and lt.get("isSigned", True))
        if p in COUNT_COLUMNS and c.physical_type != "INT64":
            violations.append(f"{p}: {c.physical_type}, counts are INT64")
        elif c.physical_type not in ("INT32", "INT64"):
            violations.append(f"{p}: {c.physical_type}, want a signed INT32/INT64")
        if not signed:
            violations.append(f"{p}: logical type {c.logical_type}, want a signed integer")

    # dictionary encoding of labels, over all row groups
    for p in LABEL_COLUMNS:
        if p not in leaves or md.num_rows == 0:
            continue
        i, _ = leaves[p]
        seen = set()
        dict_chunks = 0
        for g in range(md.num_row_groups):
            enc = set(md.row_group(g).column(i).encodings)
            seen |= enc
            dict_chunks += bool(enc & DICT_ENCODINGS)
        if dict_chunks == 0:
            violations.append(f"{p}: not dictionary-encoded in any of {md.num_row_groups} column chunk(s)"
                              f" (encodings {', '.join(sorted(seen))})")

    # pseudonyms: read the data
    present = [p for p in PSEUDONYM_COLUMNS if p in leaves]
    if present:
        table = pq.read_table(path, columns=present)
        for p in present:
            col = table.column(p)
            if pa.types.is_dictionary(col.type):
                col = pa.chunked_array([ch.dictionary_decode() for ch in col.chunks], type=col.type.value_type)
            if not pa.types.is_string(col.type):
                col = col.cast(pa.string())
            ok = pc.match_substring_regex(col, PSEUDONYM_RE)
            bad_mask = pc.invert(pc.fill_null(ok, True))
            bad = pc.sum(pc.cast(bad_mask, pa.int64())).as_py() or 0
            if bad:
                example = pc.filter(col, bad_mask)[0].as_py()
                violations.append(f"{p}: {bad} value(s) not 32 lowercase hex characters, e.g. {example!r}")

    return {
        "file": path,
        "created_by": md.created_by,
        "row_groups": md.num_row_groups,
        "violations": violations,
        "notes": notes,
    }


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for path in argv:
        try:
            out = check(path)
        except Exception as exc:  # noqa: BLE001
            first = next((ln for ln in str(exc).splitlines() if ln.strip()), "")
            out = {"file": path, "created_by": None, "violations": [f"cannot check: {type(exc).__name__}: {first}"], "notes": []}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
