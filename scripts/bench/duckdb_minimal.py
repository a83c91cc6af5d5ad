"""The benchmark's minimal peer: the shortest DuckDB script a user might write for files like
`outcomes run`'s, on one UTF-8, `;`-separated export (`outcomes synth --one-file`).

It reads the file, replaces the three identifiers with sha256(key ‖ id), and writes
cases.parquet and rates.parquet (closed cases' success rates by case type, region and closing
year). Nothing else: no label maps, no validation, no rejects, no deduplication, no intervals,
no disclosure control, no report. It is what a user choosing a tool compares with.

usage: python3 duckdb_minimal.py EXPORT.csv KEY_FILE OUT_DIR
"""

import os
import sys

import duckdb


def main():
    export, key_file, out = sys.argv[1:4]
    key = open(key_file, encoding="utf-8").read().strip()
    os.makedirs(out, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE cases AS
        SELECT sha256($key || "ЕГН") AS child,
               sha256($key || "Семейство") AS family,
               sha256($key || "Дело") AS "case",
               "Код област" AS region, "Тип" AS case_type,
               TRY_CAST("Начало" AS DATE) AS opened, TRY_CAST("Край" AS DATE) AS closed,
               "Резултат" AS outcome
        FROM read_csv($export, delim = ';', header = true, all_varchar = true,
                      ignore_errors = true)
        """,
        {"key": key, "export": export},
    )
    con.execute(f"COPY cases TO '{out}/cases.parquet' (FORMAT parquet)")
    con.execute(
        f"""
        COPY (
            SELECT case_type, region, year(closed) AS year,
                   count(*) FILTER (WHERE outcome IN ('stayed_with_family', 'reunified')) AS numerator,
                   count(*) AS denominator, numerator / denominator AS rate
            FROM cases WHERE closed IS NOT NULL
            GROUP BY ALL ORDER BY ALL
        ) TO '{out}/rates.parquet' (FORMAT parquet)
        """
    )


if __name__ == "__main__":
    main()
