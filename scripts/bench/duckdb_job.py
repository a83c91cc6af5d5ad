"""The DuckDB side of the benchmark: the comparable job an analyst would write by hand.

For every source of an `outcomes` pipeline file it reads the CSV exports, pseudonymizes the
three identifiers with a keyed SHA-256 (DuckDB has no HMAC: sha256(key ‖ domain ‖ 0 ‖ id),
first 16 bytes in hex), maps regions, case types and outcomes with the pipeline's own label
maps, and writes cases.parquet and rates.parquet (prevention_closed and reintegration_closed
per region and closing year, national rows included, with Wilson intervals).

cases.parquet gets the same columns as `outcomes run` writes, except `source_line` (the
source name stands in for the file). The job does less than `outcomes run`: no per-row
validation, no rejects, no deduplication, no cohort measures, no disclosure control, no
report, no manifest checksums. The comparison flatters DuckDB.

Windows-1251 exports are read as Latin-1 (DuckDB cannot decode Windows-1251 without
downloading an extension): both are one byte per character, so every byte survives and
labels are matched in their Latin-1 spelling.

usage: python3 duckdb_job.py PIPELINE.toml OUT_DIR
"""

import os
import sys
import tomllib

import duckdb

OUTCOME_SUCCESS = {"prevention": ["stayed_with_family"], "reintegration": ["reunified"]}
NEUTRAL = ["transferred", "other"]


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def as_read(label, encoding):
    """A label as DuckDB sees it after reading the file with `encoding`."""
    if encoding == "windows-1251":
        return label.encode("cp1251").decode("latin-1")
    return label


def strptime_format(fmt, encoding):
    return as_read(fmt, encoding)


def source_query(src, base, oblasts_table):
    enc = src.get("encoding", "utf-8")
    duck_enc = "latin-1" if enc == "windows-1251" else "utf-8"
    cols = src["columns"]
    delim = src.get("delimiter", ",")
    path = os.path.join(base, src["path"])
    fmts = [strptime_format(f, enc) for f in src.get("date_formats", ["%Y-%m-%d"])]
    fmt_list = "[" + ", ".join(sql_str(f) for f in fmts) + "]"

    def col(field):
        return 't."' + as_read(cols[field], enc).replace('"', '""') + '"' if field in cols else "NULL"

    def mapped(field, values_key):
        labels = src.get("values", {}).get(values_key, {})
        cases = " ".join(
            f"WHEN lower(trim({col(field)})) = {sql_str(as_read(k, enc).lower())} THEN {sql_str(v)}"
            for k, v in labels.items()
        )
        return f"CASE {cases} ELSE trim({col(field)}) END" if cases else f"trim({col(field)})"

    def pseudonym(field, domain):
        if field not in cols:
            return "NULL"
        norm = f"upper(replace(replace(replace(trim({col(field)}), ' ', ''), '-', ''), '/', ''))"
        return f"left(sha256($key || '{domain}' || chr(0) || {norm}), 32)"

    # Regions by code, NUTS-3 or name: joined against a label table, after the source's own map.
    joins = []

    def region_of(field):
        if field not in cols:
            return "NULL"
        alias = f"r{len(joins)}"
        joins.append(
            f"LEFT JOIN {oblasts_table} {alias} ON {alias}.label = lower(trim({col(field)}))"
        )
        region_labels = src.get("values", {}).get(field, {})
        whens = " ".join(
            f"WHEN lower(trim({col(field)})) = {sql_str(as_read(k, enc).lower())} THEN {sql_str(v)}"
            for k, v in region_labels.items()
        )
        return f"CASE {whens} ELSE {alias}.code END" if whens else f"{alias}.code"

    region = sql_str(src["region"]) if "region" in src and "region" not in cols else region_of("region")
    placement_region = region_of("placement_region")

    read = (
        f"read_csv({sql_str(path)}, delim={sql_str(delim)}, header=true, all_varchar=true, "
        f"encoding={sql_str(duck_enc)}, quote='\"', escape='\"', ignore_errors=true, "
        f"null_padding=true, parallel=true)"
    )
    office = f"coalesce(trim({col('office')}), {sql_str(src['name'])})" if "office" in cols else sql_str(src["name"])
    return f"""
        SELECT
            {pseudonym('child_id', 'child')} AS child,
            {pseudonym('family_id', 'family')} AS family,
            {pseudonym('case_id', 'case')} AS "case",
            {region} AS region,
            trim({col('municipality')}) AS municipality,
            {office} AS office,
            {mapped('case_type', 'case_type')} AS case_type,
            try_strptime(trim({col('opened')}), {fmt_list})::DATE AS opened,
            try_strptime(trim({col('closed')}), {fmt_list})::DATE AS closed,
            {mapped('outcome', 'outcome')} AS outcome,
            {mapped('placement_type', 'placement_type')} AS placement_type,
            {placement_region} AS placement_region,
            year(try_strptime(trim({col('birth_date')}), {fmt_list})) AS birth_year,
            {mapped('sex', 'sex')} AS sex,
            {sql_str(src['name'])} AS source
        FROM {read} AS t {" ".join(joins)}
    """


def main():
    pipeline_path, out_dir = sys.argv[1], sys.argv[2]
    with open(pipeline_path, "rb") as f:
        pipeline = tomllib.load(f)
    base = os.path.dirname(os.path.abspath(pipeline_path))
    key_path = os.path.join(base, pipeline["key_file"])
    key = "".join(
        line.strip() for line in open(key_path, encoding="utf-8") if line.strip() and not line.startswith("#")
    )
    here = os.path.dirname(os.path.abspath(__file__))
    oblasts_csv = os.path.join(here, "..", "..", "reference", "oblasts.csv")
    os.makedirs(out_dir, exist_ok=True)

    con = duckdb.connect()
    rows = con.execute(
        f"SELECT code, nuts3, name_en, name_bg FROM read_csv({sql_str(oblasts_csv)}, all_varchar=true)"
    ).fetchall()
    # Every spelling of a region (code, NUTS-3, English and Bulgarian name), lowercased, as a
    # UTF-8 export and as a Windows-1251 export read as Latin-1 spell it.
    for table, encode in [("oblasts", lambda t: t), ("oblasts_1251", lambda t: t.encode("cp1251").decode("latin-1"))]:
        con.execute(f"CREATE TABLE {table} (label VARCHAR PRIMARY KEY, code VARCHAR)")
        labels = {}
        for code, nuts3, name_en, name_bg in rows:
            for label in (code, nuts3, name_en, encode(name_bg)):
                labels.setdefault(label.lower(), code)
        con.executemany(f"INSERT INTO {table} VALUES (?, ?)", list(labels.items()))

    queries = [
        source_query(src, base, "oblasts_1251" if src.get("encoding") == "windows-1251" else "oblasts")
        for src in pipeline["sources"]
    ]
    con.execute(
        "CREATE TABLE cases AS " + " UNION ALL ".join(queries),
        {"key": key},
    )
    con.execute(
        f"COPY (SELECT * FROM cases) TO {sql_str(os.path.join(out_dir, 'cases.parquet'))} (FORMAT parquet)"
    )
    success = {t: "(" + ", ".join(sql_str(o) for o in outs) + ")" for t, outs in OUTCOME_SUCCESS.items()}
    neutral = "(" + ", ".join(sql_str(o) for o in NEUTRAL) + ")"
    con.execute(
        f"""
        COPY (
            WITH closed AS (
                SELECT region, year(closed) AS year, case_type,
                       CASE WHEN case_type = 'prevention' THEN outcome IN {success['prevention']}
                            ELSE outcome IN {success['reintegration']} END AS success
                FROM cases
                WHERE closed IS NOT NULL AND outcome NOT IN {neutral}
                  AND case_type IN ('prevention', 'reintegration')
            ),
            counts AS (
                SELECT case_type || '_closed' AS measure, coalesce(region, 'BG') AS region, year,
                       count(*) FILTER (WHERE success) AS numerator, count(*) AS denominator
                FROM closed
                GROUP BY GROUPING SETS ((case_type, region, year), (case_type, year))
            )
            SELECT measure, region, year, numerator, denominator,
                   numerator / denominator AS rate,
                   (numerator / denominator + 1.92 / denominator
                      - 1.96 * sqrt(numerator / denominator * (1 - numerator / denominator) / denominator
                                    + 0.9604 / denominator ^ 2)) / (1 + 3.8416 / denominator) AS ci_low,
                   (numerator / denominator + 1.92 / denominator
                      + 1.96 * sqrt(numerator / denominator * (1 - numerator / denominator) / denominator
                                    + 0.9604 / denominator ^ 2)) / (1 + 3.8416 / denominator) AS ci_high
            FROM counts
            ORDER BY measure, region, year
        ) TO {sql_str(os.path.join(out_dir, 'rates.parquet'))} (FORMAT parquet)
        """
    )
    n = con.execute("SELECT count(*) FROM cases").fetchone()[0]
    print(f"duckdb: {n} cases written", file=sys.stderr)


if __name__ == "__main__":
    main()
