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


def quoted(text):
    """A SQL string literal (a view's text cannot take prepared parameters)."""
    return "'" + text.replace("'", "''") + "'"


def main():
    export, key_file, out = sys.argv[1:4]
    key = [line.strip() for line in open(key_file, encoding="utf-8") if line.strip()][-1]
    os.makedirs(out, exist_ok=True)
    con = duckdb.connect()
    # A view, not a table: DuckDB then streams the file into cases.parquet and reads it again,
    # without the identifiers, for the rates (faster here than holding the table: 24.9 s and
    # 0.5 GB against 26.5 s and 3.9 GB on 10 million rows).
    con.execute(
        """
        CREATE VIEW cases AS
        SELECT sha256(KEY || "ЕГН") AS child,
               sha256(KEY || "Семейство") AS family,
               sha256(KEY || "Дело") AS "case",
               "Код област" AS region, "Тип" AS case_type,
               TRY_CAST("Начало" AS DATE) AS opened, TRY_CAST("Край" AS DATE) AS closed,
               "Резултат" AS outcome
        FROM read_csv(EXPORT, delim = ';', header = true, all_varchar = true,
                      ignore_errors = true)
        """.replace("KEY", quoted(key)).replace("EXPORT", quoted(export))
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
