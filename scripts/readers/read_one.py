#!/usr/bin/env python3
"""Read Parquet files with one reader and print what it saw, one JSON line per file.

Runs inside that reader's own virtual environment (scripts/readers/check.sh makes them):

    python read_one.py READER FILE [FILE ...]

READER is one of: pyarrow12 pyarrow14 pyarrow duckdb09 duckdb polars fastparquet spark.

Prints first {"reader", "version", "details"} and then, per file, {"file", "ok", "figures"} or
{"file", "ok": false, "error"}. Every figure is computed from the data itself (not from
the file's statistics), so a reader that cannot decode a column fails:

    rows                      number of rows
    types                     every column as col:kind (string, date, int, float, bool, timestamp,
                              other[the reader's own type name])
    <col>.nonnull             non-null values of every column
    child.distinct            distinct non-null `child`
    <string col>.distinct/.min/.max
    <date col>.min/.max       as YYYY-MM-DD
    <int col>.sum             exact
    <float col>.sum           to 9 significant digits

The comparison of readers is summary.py's job; this file only reads.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import traceback


def first_line(text: str) -> str:
    for line in str(text).splitlines():
        if line.strip():
            return line.strip()
    return ""


def err_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {first_line(exc)}" if first_line(exc) else type(exc).__name__


def fmt_date(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, _dt.datetime):
        if (v.hour, v.minute, v.second, v.microsecond) != (0, 0, 0, 0):
            return v.isoformat()  # not a whole day: will not match the other readers
        return v.date().isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    return f"not-a-date:{v!r}"


def fmt_float(v) -> str | None:
    if v is None:
        return None
    return format(float(v), ".9g")


def fmt_int(v) -> str | None:
    return None if v is None else str(int(v))


def fmt_str(v) -> str | None:
    return None if v is None else str(v)


class Figures:
    """Collects the per-file figures in one shape whatever the reader."""

    def __init__(self) -> None:
        self.d: dict[str, object] = {}
        self.kinds: list[str] = []

    def column(self, name: str, kind: str, nonnull, **stats) -> None:
        self.kinds.append(f"{name}:{kind}")
        self.d[f"{name}.nonnull"] = fmt_int(nonnull)
        for key, value in stats.items():
            self.d[f"{name}.{key}"] = value

    def done(self, rows) -> dict:
        self.d["rows"] = fmt_int(rows)
        self.d["types"] = ",".join(self.kinds)
        return self.d


# ---------------------------------------------------------------- pyarrow 12 / 14 / newest


def pyarrow_version() -> tuple[str, str]:
    import pyarrow

    try:
        import numpy
    except ImportError:  # pyarrow >= 16 does not need it
        return f"pyarrow {pyarrow.__version__}", "no numpy"
    return f"pyarrow {pyarrow.__version__}", f"numpy {numpy.__version__}"


def pyarrow_read(path: str) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)  # all columns, all row groups: the real data
    f = Figures()
    for name in table.column_names:
        col = table.column(name)
        typ = col.type
        if pa.types.is_dictionary(typ):
            col = pa.chunked_array([c.dictionary_decode() for c in col.chunks], type=typ.value_type)
            typ = typ.value_type
        nonnull = len(col) - col.null_count
        is_view = getattr(pa.types, "is_string_view", lambda t: False)(typ)
        if pa.types.is_string(typ) or pa.types.is_large_string(typ) or is_view:
            if is_view:  # compute kernels are thin for string_view: compare as plain strings
                col = col.cast(pa.string())
            mm = pc.min_max(col)
            f.column(name, "string", nonnull,
                     distinct=fmt_int(pc.count_distinct(col, mode="only_valid").as_py()),
                     min=fmt_str(mm["min"].as_py()), max=fmt_str(mm["max"].as_py()))
        elif pa.types.is_date(typ):
            mm = pc.min_max(col)
            f.column(name, "date", nonnull, min=fmt_date(mm["min"].as_py()), max=fmt_date(mm["max"].as_py()))
        elif pa.types.is_integer(typ):
            f.column(name, "int", nonnull, sum=fmt_int(pc.sum(col).as_py()))
        elif pa.types.is_floating(typ):
            f.column(name, "float", nonnull, sum=fmt_float(pc.sum(col).as_py()))
        elif pa.types.is_timestamp(typ):
            f.column(name, "timestamp", nonnull)
        elif pa.types.is_boolean(typ):
            f.column(name, "bool", nonnull)
        else:
            f.column(name, f"other[{typ}]", nonnull)
    return f.done(table.num_rows)


# ---------------------------------------------------------------- DuckDB 0.9 / newest


_duck = None


def duckdb_version() -> tuple[str, str]:
    import duckdb

    return f"duckdb {duckdb.__version__}", ""


def duckdb_read(path: str) -> dict:
    import duckdb

    global _duck
    if _duck is None:
        _duck = duckdb.connect(":memory:")
        _duck.execute("SET threads TO 1")
    con = _duck
    src = "read_parquet('" + path.replace("'", "''") + "')"

    def q(ident: str) -> str:
        return '"' + ident.replace('"', '""') + '"'

    cols = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    exprs, plan = ["count(*)"], []
    for row in cols:
        name, typ = row[0], str(row[1]).upper()
        c = q(name)
        if typ == "VARCHAR" or typ.startswith("ENUM"):
            kind = "string"
            exprs += [f"count({c})", f"count(DISTINCT {c})", f"min({c}::VARCHAR)", f"max({c}::VARCHAR)"]
            keys = ["nonnull", "distinct", "min", "max"]
        elif typ == "DATE":
            kind = "date"
            exprs += [f"count({c})", f"min({c})", f"max({c})"]
            keys = ["nonnull", "min", "max"]
        elif typ in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                     "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"):
            kind = "int"
            exprs += [f"count({c})", f"sum({c})::HUGEINT"]
            keys = ["nonnull", "sum"]
        elif typ in ("DOUBLE", "FLOAT", "REAL") or typ.startswith("DECIMAL"):
            kind = "float"
            exprs += [f"count({c})", f"sum({c})::DOUBLE"]
            keys = ["nonnull", "sum"]
        elif typ == "BOOLEAN" or typ.startswith("TIMESTAMP"):
            kind = "bool" if typ == "BOOLEAN" else "timestamp"
            exprs += [f"count({c})"]
            keys = ["nonnull"]
        else:
            kind = f"other[{typ}]"
            exprs += [f"count({c})"]
            keys = ["nonnull"]
        plan.append((name, kind, keys))
    values = list(con.execute(f"SELECT {', '.join(exprs)} FROM {src}").fetchone())
    rows = values.pop(0)
    f = Figures()
    for name, kind, keys in plan:
        got = dict(zip(keys, values[: len(keys)]))
        del values[: len(keys)]
        stats = {}
        if kind == "string":
            stats = {"distinct": fmt_int(got["distinct"]), "min": fmt_str(got["min"]), "max": fmt_str(got["max"])}
        elif kind == "date":
            stats = {"min": fmt_date(got["min"]), "max": fmt_date(got["max"])}
        elif kind == "int":
            stats = {"sum": fmt_int(got["sum"])}
        elif kind == "float":
            stats = {"sum": fmt_float(got["sum"])}
        f.column(name, kind, got["nonnull"], **stats)
    return f.done(rows)


# ---------------------------------------------------------------- Polars


def polars_version() -> tuple[str, str]:
    import polars

    return f"polars {polars.__version__}", ""


def polars_read(path: str) -> dict:
    import polars as pl

    df = pl.read_parquet(path)
    f = Figures()
    for name in df.columns:
        s = df.get_column(name)
        dt = s.dtype
        if dt == pl.Categorical or isinstance(dt, (pl.Categorical, getattr(pl, "Enum", pl.Categorical))):
            s = s.cast(pl.Utf8)
            dt = pl.Utf8
        nonnull = s.len() - s.null_count()
        if dt == pl.Utf8:
            nn = s.drop_nulls()
            f.column(name, "string", nonnull, distinct=fmt_int(nn.n_unique()),
                     min=fmt_str(nn.min()), max=fmt_str(nn.max()))
        elif dt == pl.Date:
            f.column(name, "date", nonnull, min=fmt_date(s.min()), max=fmt_date(s.max()))
        elif dt.is_integer():
            f.column(name, "int", nonnull, sum=fmt_int(s.cast(pl.Int64).sum() if nonnull else None))
        elif dt.is_float():
            f.column(name, "float", nonnull, sum=fmt_float(s.sum() if nonnull else None))
        elif dt == pl.Boolean:
            f.column(name, "bool", nonnull)
        elif isinstance(dt, pl.Datetime) or dt == pl.Datetime:
            f.column(name, "timestamp", nonnull)
        else:
            f.column(name, f"other[{dt}]", nonnull)
    return f.done(df.height)


# ---------------------------------------------------------------- pandas + fastparquet


def fastparquet_version() -> tuple[str, str]:
    import fastparquet
    import numpy
    import pandas

    return (f"pandas {pandas.__version__} + fastparquet {fastparquet.__version__}",
            f"numpy {numpy.__version__}, pyarrow not installed")


def fastparquet_read(path: str) -> dict:
    import pandas as pd

    import fastparquet

    df = pd.read_parquet(path, engine="fastparquet")
    # pandas asks fastparquet for pandas_nulls=False, so an integer column with nulls comes
    # back float64 with NaN: that is pandas' way, not the file's. Take int-ness from the file.
    pf = fastparquet.ParquetFile(path, pandas_nulls=True)
    file_dtypes = pf.dtypes
    date_cols = set()  # DATE in the file (pandas has no date dtype: datetime64 at midnight)
    for el in pf.schema.schema_elements:
        lt = getattr(el, "logicalType", None)
        if el.converted_type == fastparquet.parquet_thrift.ConvertedType.DATE or (
                lt is not None and getattr(lt, "DATE", None) is not None):
            date_cols.add(el.name)
    f = Figures()
    for name in df.columns:
        s = df[name]
        if (pd.api.types.is_float_dtype(s.dtype) and name in file_dtypes
                and pd.api.types.is_integer_dtype(file_dtypes[name])):
            s = s.astype(file_dtypes[name])  # exact: the values are integers below 2**53
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(s.dtype.categories.dtype)
        nn = s.dropna()
        nonnull = len(nn)
        dtype = s.dtype
        if pd.api.types.is_bool_dtype(dtype):
            f.column(name, "bool", nonnull)
        elif pd.api.types.is_integer_dtype(dtype):
            f.column(name, "int", nonnull, sum=fmt_int(int(nn.astype("int64").sum()) if nonnull else None))
        elif pd.api.types.is_float_dtype(dtype):
            f.column(name, "float", nonnull, sum=fmt_float(float(nn.sum()) if nonnull else None))
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            if name not in date_cols or (nonnull and not (nn.dt.normalize() == nn).all()):
                f.column(name, "timestamp", nonnull)
            else:
                lo = nn.min().to_pydatetime() if nonnull else None
                hi = nn.max().to_pydatetime() if nonnull else None
                f.column(name, "date", nonnull, min=fmt_date(lo), max=fmt_date(hi))
        elif pd.api.types.is_string_dtype(dtype) or dtype == object:
            kinds = {type(v) for v in nn}
            if kinds <= {str}:
                f.column(name, "string", nonnull, distinct=fmt_int(nn.nunique()),
                         min=fmt_str(min(nn) if nonnull else None), max=fmt_str(max(nn) if nonnull else None))
            elif kinds <= {_dt.date}:
                f.column(name, "date", nonnull, min=fmt_date(min(nn) if nonnull else None),
                         max=fmt_date(max(nn) if nonnull else None))
            else:
                f.column(name, "other[" + "/".join(sorted(k.__name__ for k in kinds)) + "]", nonnull)
        else:
            f.column(name, f"other[{dtype}]", nonnull)
    return f.done(len(df))


# ---------------------------------------------------------------- Spark 3.5 (pyspark)


_spark = None


def spark_session():
    global _spark
    if _spark is None:
        from pyspark.sql import SparkSession

        tmp = os.environ.get("OUTCOMES_READERS_TMP") or "/tmp"
        _spark = (
            SparkSession.builder.master("local[1]")
            .appName("outcomes-readers")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", os.path.join(tmp, "spark-warehouse"))
            .config("spark.local.dir", tmp)
            .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={tmp}")
            .getOrCreate()
        )
        _spark.sparkContext.setLogLevel("ERROR")
    return _spark


def spark_version() -> tuple[str, str]:
    import pyspark

    spark = spark_session()
    java = spark.sparkContext._jvm.java.lang.System.getProperty("java.version")
    return f"pyspark {pyspark.__version__}", f"Spark {spark.version}, Java {java}, local[1] on 127.0.0.1"


def spark_error(exc: BaseException) -> str:
    """The root cause of a Java exception, not py4j's 'An error occurred while calling o42'."""
    jexc = getattr(exc, "java_exception", None)
    if jexc is None:
        return err_text(exc)
    try:
        cause = jexc
        while cause.getCause() is not None and cause.getCause() != cause:
            cause = cause.getCause()
        return first_line(cause.toString())
    except Exception:  # noqa: BLE001 - fall back to the Python text
        return err_text(exc)


def spark_read(path: str) -> dict:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    spark = spark_session()
    df = spark.read.parquet("file://" + os.path.abspath(path))
    exprs, plan = [F.count(F.lit(1))], []
    for field in df.schema.fields:
        c = F.col("`" + field.name.replace("`", "``") + "`")
        t = field.dataType
        if isinstance(t, T.StringType):
            kind, keys = "string", ["nonnull", "distinct", "min", "max"]
            exprs += [F.count(c), F.countDistinct(c), F.min(c), F.max(c)]
        elif isinstance(t, T.DateType):
            kind, keys = "date", ["nonnull", "min", "max"]
            exprs += [F.count(c), F.min(c), F.max(c)]
        elif isinstance(t, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
            kind, keys = "int", ["nonnull", "sum"]
            exprs += [F.count(c), F.sum(c.cast("decimal(38,0)"))]
        elif isinstance(t, (T.FloatType, T.DoubleType, T.DecimalType)):
            kind, keys = "float", ["nonnull", "sum"]
            exprs += [F.count(c), F.sum(c.cast("double"))]
        elif isinstance(t, (T.BooleanType, T.TimestampType, getattr(T, "TimestampNTZType", T.TimestampType))):
            kind, keys = ("bool" if isinstance(t, T.BooleanType) else "timestamp"), ["nonnull"]
            exprs += [F.count(c)]
        else:
            kind, keys = f"other[{t.simpleString()}]", ["nonnull"]
            exprs += [F.count(c)]
        plan.append((field.name, kind, keys))
    values = list(df.agg(*exprs).collect()[0])
    rows = values.pop(0)
    f = Figures()
    for name, kind, keys in plan:
        got = dict(zip(keys, values[: len(keys)]))
        del values[: len(keys)]
        stats = {}
        if kind == "string":
            stats = {"distinct": fmt_int(got["distinct"]), "min": fmt_str(got["min"]), "max": fmt_str(got["max"])}
        elif kind == "date":
            stats = {"min": fmt_date(got["min"]), "max": fmt_date(got["max"])}
        elif kind == "int":
            stats = {"sum": fmt_int(got["sum"])}
        elif kind == "float":
            stats = {"sum": fmt_float(got["sum"])}
        f.column(name, kind, got["nonnull"], **stats)
    return f.done(rows)


# ----------------------------------------------------------------


READERS = {
    "pyarrow12": (pyarrow_version, pyarrow_read, err_text),
    "pyarrow14": (pyarrow_version, pyarrow_read, err_text),
    "pyarrow": (pyarrow_version, pyarrow_read, err_text),
    "duckdb09": (duckdb_version, duckdb_read, err_text),
    "duckdb": (duckdb_version, duckdb_read, err_text),
    "polars": (polars_version, polars_read, err_text),
    "fastparquet": (fastparquet_version, fastparquet_read, err_text),
    "spark": (spark_version, spark_read, spark_error),
}


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in READERS:
        print(__doc__, file=sys.stderr)
        return 2
    reader, files = argv[0], argv[1:]
    if reader == "fastparquet":
        sys.modules["pyarrow"] = None  # pandas must not fall back to pyarrow behind our back
        import warnings  # pandas 3 deprecates engine="fastparquet"; that is not a failure

        warnings.filterwarnings("ignore", message=".*fastparquet.*deprecated")
    version_fn, read_fn, error_fn = READERS[reader]
    try:
        version, details = version_fn()
    except Exception as exc:  # noqa: BLE001
        traceback.print_exc()
        emit({"reader": reader, "version": None, "error": error_fn(exc)})
        return 1
    emit({"reader": reader, "version": version, "details": details})
    for path in files:
        try:
            figures = read_fn(path)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            print(f"--- {reader} {path}", file=sys.stderr)
            traceback.print_exc()
            emit({"reader": reader, "file": path, "ok": False, "error": error_fn(exc)})
        else:
            emit({"reader": reader, "file": path, "ok": True, "figures": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
