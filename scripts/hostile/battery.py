#!/usr/bin/env python3
"""Hostile-input battery for the `outcomes` binary (black-box).

    scripts/hostile/battery.py BINARY [--only NAME,...] [--keep] [--list] [--tmp DIR]

Builds hostile files and folders in a temporary directory, throws them at BINARY and checks the
project's non-negotiables (SPEC sections 2, 8, 9; README; docs/operations.md). Every case prints
one line, PASS / FAIL / SKIP, with the case name and, on FAIL, what broke. Exit status 1 if any
case fails.

Checks applied to every run of every case:
  * no panic: exit code 0..3, never 101 or a signal; no "panicked at" / "RUST_BACKTRACE" /
    "stack backtrace" on stdout or stderr;
  * the exit code the spec prescribes for the case;
  * no lost file: every file the battery placed and the program does not own is still there,
    byte-identical (a refused or failed run must leave everything as it was); no staging
    folder (`.NAME.staging-*`) or scratch file left behind;
  * no leaked value: the synthetic personal values planted in the inputs (names, ЕГН-like
    numbers, phone numbers, birth dates, addresses, notes) and the key never appear in any file
    the run wrote (Parquet pages are decompressed, xlsx members unzipped, HTML unescaped), on
    stdout/stderr or in a `--log-format json` log;
  * bounded memory: peak RSS of the child (os.wait4) under 300 MiB;
  * accounting, when a manifest was written: rows_read = accepted + rejected + duplicate for
    every entry, rejects.csv has one record per rejected row, every file in the output folder
    is listed in the manifest with its SHA-256.

Safety: the binary under test may delete what it is pointed at. It is only ever pointed at
folders inside the battery's temporary directory; `--out /` and `--out $HOME` run inside a
chroot (root) or a bubblewrap sandbox (else SKIP) whose root is a scratch copy. HOME is always a
fake folder. tmpfs mounts are made only inside the temporary directory and are unmounted in a
finally block. Only synthetic people are used.

Python 3.11 standard library only (pyarrow is used for an extra Parquet check if importable).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import fcntl
import fnmatch
import gzip
import hashlib
import html
import io
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from pathlib import Path

MB = 1024 * 1024
MEM_LIMIT_KB = 300 * 1024  # 300 MiB, ru_maxrss is in KiB on Linux
VALID_CODES = {0, 1, 2, 3}
PANIC_RE = re.compile(r"panicked at|RUST_BACKTRACE|stack backtrace")
NOBODY_UID = 65534
NOBODY_GID = 65534

# --------------------------------------------------------------------------------------------
# Synthetic people. Surnames, streets and note markers are made-up words that no report text
# contains, so finding one of them (in any case form) in an output is a leak.
# --------------------------------------------------------------------------------------------

F_FIRST = ["Иванка", "Мария", "Елена", "Десислава", "Гергана", "Радостина", "Полина",
           "Виктория", "Николета", "Цветелина", "Симона", "Калина"]
M_FIRST = ["Георги", "Димитър", "Стоян", "Калоян", "Борислав", "Никола", "Радослав", "Цветан",
           "Ясен", "Пламен", "Тодор", "Венелин"]
FATHERS = ["Георгиев", "Димитров", "Стоянов", "Калоянов", "Бориславов", "Николов", "Радославов",
           "Цветанов", "Ясенов", "Пламенов", "Тодоров", "Венелинов"]
SURNAME_STEMS = [("Синтетич", "Sintetich"), ("Фиктивн", "Fiktivn"), ("Измисленч", "Izmislench"),
                 ("Макетч", "Maketch"), ("Шаблонч", "Shablonch"), ("Хипотетич", "Hipotetich"),
                 ("Мнимч", "Mnimch"), ("Небивалч", "Nebivalch"), ("Сънувач", "Sanuvach"),
                 ("Химерч", "Himerch"), ("Миражн", "Mirazhn"), ("Илюзорн", "Ilyuzorn"),
                 ("Призрачн", "Prizrachn"), ("Виртуалч", "Virtualch"), ("Фантомч", "Fantomch"),
                 ("Ефирнич", "Efirnich")]
STREETS = ["Несъществуваща", "Въображаема", "Фантазийна", "Нереалистична", "Мечтателна",
           "Небивалата", "Илюзорната", "Безименната"]
TOWNS = ["Варна", "Добрич", "Шумен", "Бургас"]
NOTE_MARKERS = ["Кварцитово", "Лазуритово", "Малахитово", "Обсидианово", "Турмалиново"]
NOTE_TEXTS = ["майката е без работа, бабата помага",
              "бащата работи в чужбина; казва „ще се върне“",
              'съседите съобщават за "скандали" вечер',
              "посещение в дома\nследващо посещение след месец",
              "детето посещава детска градина"]
REGIONS = [("VAR", "ОЗД Варна"), ("DOB", "ОЗД Добрич"), ("SHU", "ОЗД Шумен"),
           ("BGS", "ОЗД Бургас"), ("SOF", "ОЗД София"), ("PDV", "ОЗД Пловдив")]

LAYOUT = ["ЕГН на детето", "Име на детето", "Дата на раждане", "Пол", "Адрес", "Телефон",
          "ЕГН на майката", "Област", "Отдел", "Вид на случая", "Дата на откриване",
          "Дата на приключване", "Резултат", "Настаняване", "Бележки"]
COL = {name: i for i, name in enumerate(LAYOUT)}
GOOD_COLUMNS = {"child_id": "ЕГН на детето", "region": "Област", "office": "Отдел",
                "case_type": "Вид на случая", "opened": "Дата на откриване",
                "closed": "Дата на приключване", "outcome": "Резултат",
                "placement_type": "Настаняване", "birth_date": "Дата на раждане", "sex": "Пол"}
PREV_OUT = [("Остава в семейството", "stayed_with_family", ""),
            ("При близки", "kinship_care", "Близки"),
            ("Приемно семейство", "foster_care", "Приемна грижа"),
            ("ЦНСТ", "residential_care", "ЦНСТ"),
            ("Институция", "institution", "Институция"),
            ("Осиновяване", "adopted", ""),
            ("Преместен", "transferred", ""),
            ("Друго", "other", "")]
REIN_OUT = [("Върнато в семейството", "reunified", ""),
            ("При близки", "kinship_care", "Близки"),
            ("Приемно семейство", "foster_care", "Приемна грижа"),
            ("Остава в услугата", "remained_in_care", ""),
            ("Преместен", "transferred", ""),
            ("Друго", "other", "")]
GOOD_VALUES = {
    "case_type": {"Превенция": "prevention", "Реинтеграция": "reintegration"},
    "outcome": {lab: canon for lab, canon, _ in PREV_OUT + REIN_OUT},
    "placement_type": {"Близки": "kinship_care", "Приемна грижа": "foster_care",
                       "ЦНСТ": "residential_care", "Институция": "institution"},
    "sex": {"Ж": "F", "М": "M"},
}
DATE_FMT = "%d.%m.%Y"


def egn_for(birth: dt.date, rng: random.Random, sex: str) -> str:
    mm = birth.month + (40 if birth.year >= 2000 else 0)
    seq = rng.randint(0, 999)
    if (seq % 2 == 0) != (sex == "M"):  # 9th digit: even for boys, odd for girls
        seq = (seq + 1) % 1000
    body = f"{birth.year % 100:02d}{mm:02d}{birth.day:02d}{seq:03d}"
    w = [2, 4, 8, 5, 10, 9, 7, 3, 6]
    c = sum(int(d) * k for d, k in zip(body, w)) % 11
    return body + str(0 if c == 10 else c)


def rand_date(rng, y0, y1):
    start = dt.date(y0, 1, 1).toordinal()
    end = dt.date(y1, 12, 31).toordinal()
    return dt.date.fromordinal(rng.randint(start, end))


class Person:
    __slots__ = ("egn", "name", "latin", "birth", "sex", "address", "phone", "mother_egn", "note")

    def __init__(self, rng: random.Random, i: int):
        self.sex = rng.choice("FM")
        stem_bg, stem_lat = SURNAME_STEMS[i % len(SURNAME_STEMS)]
        first = rng.choice(F_FIRST if self.sex == "F" else M_FIRST)
        father = rng.choice(FATHERS)
        if self.sex == "F":
            self.name = f"{first} {father}а {stem_bg}ева"
            self.latin = f"{stem_lat}eva"
        else:
            self.name = f"{first} {father} {stem_bg}ев"
            self.latin = f"{stem_lat}ev"
        self.birth = rand_date(rng, 2003, 2012)
        self.egn = egn_for(self.birth, rng, self.sex)
        mb = rand_date(rng, 1975, 1992)
        self.mother_egn = egn_for(mb, rng, "F")
        self.phone = "08" + "".join(rng.choice("0123456789") for _ in range(8))
        self.address = (f"гр. {rng.choice(TOWNS)}, ул. „{rng.choice(STREETS)}“ № {rng.randint(1, 199)}, "
                        f"вх. {rng.choice('АБВ')}, ет. {rng.randint(1, 12)}")
        self.note = f"{rng.choice(NOTE_MARKERS)}: {rng.choice(NOTE_TEXTS)}"
        if rng.random() < 0.5:  # only some notes carry a phone number (digits get withheld)
            self.note += f", тел. {self.phone}"


class Planted:
    """Everything personal the battery puts into inputs, and how to look for it."""

    def __init__(self, people):
        toks = [s.lower() for s, _ in SURNAME_STEMS] + [s.lower() for _, s in SURNAME_STEMS]
        toks += [s.lower() for s in STREETS] + [s.lower() for s in NOTE_MARKERS]
        self.kinds = {}
        for s, _ in SURNAME_STEMS:
            self.kinds[s.lower()] = "name"
        for _, s in SURNAME_STEMS:
            self.kinds[s.lower()] = "name"
        for s in STREETS:
            self.kinds[s.lower()] = "address"
        for s in NOTE_MARKERS:
            self.kinds[s.lower()] = "note"
        self.token_re = re.compile("|".join(re.escape(t) for t in sorted(toks, key=len, reverse=True)))
        self.digits = {}
        self.dates = set()
        for p in people:
            self.digits[p.egn] = "ЕГН"
            self.digits[p.mother_egn] = "ЕГН"
            self.digits[p.phone] = "phone"
            self.dates.add((p.birth.year, p.birth.month, p.birth.day))
        self.secrets = []  # key hex strings

    DIG_RE = re.compile(r"\d{10,}")
    DATE_RES = [(re.compile(r"(?<!\d)(\d{1,2})[./](\d{1,2})[./](\d{4})(?!\d)"), (3, 2, 1)),
                (re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)"), (1, 2, 3))]

    def scan_text(self, s: str) -> dict:
        """kind -> count of planted values found in text s."""
        found = {}
        low = s.lower()
        for m in self.token_re.finditer(low):
            k = self.kinds[m.group(0)]
            found[k] = found.get(k, 0) + 1
        for m in self.DIG_RE.finditer(s):
            run = m.group(0)
            for i in range(len(run) - 9):
                k = self.digits.get(run[i:i + 10])
                if k:
                    found[k] = found.get(k, 0) + 1
        for rx, (yi, mi, di) in self.DATE_RES:
            for m in rx.finditer(s):
                try:
                    t = (int(m.group(yi)), int(m.group(mi)), int(m.group(di)))
                except ValueError:
                    continue
                if t in self.dates:
                    found["birth date"] = found.get("birth date", 0) + 1
        for sec in self.secrets:
            if sec in low:
                found["key"] = found.get("key", 0) + 1
        return found

    def scan_bytes(self, b: bytes) -> dict:
        found = {}
        texts = [b.decode("utf-8", "replace"), b.decode("cp1251", "replace")]
        if b.count(b"\x00") > len(b) // 8:  # could hold UTF-16
            texts += [b.decode("utf-16-le", "replace"), b[1:].decode("utf-16-le", "replace")]
        for t in texts:
            for k, v in self.scan_text(t).items():
                found[k] = max(found.get(k, 0), v)
        return found

    def redact(self, s: str) -> str:
        s = re.sub(self.token_re.pattern, "<redacted>", s, flags=re.IGNORECASE)
        s = self.DIG_RE.sub("<digits>", s)
        for sec in self.secrets:
            s = re.sub(re.escape(sec), "<key>", s, flags=re.IGNORECASE)
        return s


# --------------------------------------------------------------------------------------------
# Parquet without pyarrow: walk the pages, decompress Snappy, so strings are searchable.
# --------------------------------------------------------------------------------------------

class _Thrift:
    def __init__(self, b, pos):
        self.b, self.pos = b, pos

    def varint(self):
        shift = v = 0
        while True:
            c = self.b[self.pos]
            self.pos += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if c < 0x80:
                return v
            if shift > 70:
                raise ValueError("varint")

    def zigzag(self):
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def value(self, t, depth):
        if depth > 20:
            raise ValueError("depth")
        if t in (1, 2):
            return t == 1
        if t == 3:
            self.pos += 1
            return self.b[self.pos - 1]
        if t in (4, 5, 6):
            return self.zigzag()
        if t == 7:
            self.pos += 8
            return None
        if t == 8:
            n = self.varint()
            if n > len(self.b):
                raise ValueError("binary")
            v = self.b[self.pos:self.pos + n]
            self.pos += n
            return v
        if t in (9, 10):
            h = self.b[self.pos]
            self.pos += 1
            n, et = h >> 4, h & 15
            if n == 15:
                n = self.varint()
            out = []
            for _ in range(n):
                if et in (1, 2):
                    out.append(self.b[self.pos] == 1)
                    self.pos += 1
                else:
                    out.append(self.value(et, depth + 1))
            return out
        if t == 11:
            n = self.varint()
            if n == 0:
                return []
            kv = self.b[self.pos]
            self.pos += 1
            return [(self.value(kv >> 4, depth + 1), self.value(kv & 15, depth + 1)) for _ in range(n)]
        if t == 12:
            return self.struct(depth + 1)
        raise ValueError(f"thrift type {t}")

    def struct(self, depth=0):
        fid, out = 0, {}
        while True:
            h = self.b[self.pos]
            self.pos += 1
            if h == 0:
                return out
            t, d = h & 15, h >> 4
            fid = self.zigzag() if d == 0 else fid + d
            out[fid] = self.value(t, depth)


def snappy_decompress(b: bytes) -> bytes:
    pos = shift = n = 0
    while True:
        c = b[pos]
        pos += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            break
    out = bytearray()
    L = len(b)
    while pos < L:
        tag = b[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            ln = tag >> 2
            if ln < 60:
                ln += 1
            else:
                nb = ln - 59
                ln = int.from_bytes(b[pos:pos + nb], "little") + 1
                pos += nb
            out += b[pos:pos + ln]
            pos += ln
            continue
        if kind == 1:
            ln = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | b[pos]
            pos += 1
        elif kind == 2:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[pos:pos + 2], "little")
            pos += 2
        else:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[pos:pos + 4], "little")
            pos += 4
        if off == 0 or off > len(out):
            raise ValueError("snappy offset")
        start = len(out) - off
        if off >= ln:
            out += out[start:start + ln]
        else:
            for i in range(ln):
                out.append(out[start + i])
        if len(out) > n:
            raise ValueError("snappy overrun")
    if len(out) != n:
        raise ValueError("snappy length")
    return bytes(out)


def _pages(data, pos, end, codec, out):
    while pos < end:
        t = _Thrift(data, pos)
        h = t.struct()
        usize, csize = h.get(2), h.get(3)
        if not isinstance(h.get(1), int) or not isinstance(csize, int) or not isinstance(usize, int) \
                or csize < 0 or t.pos + csize > len(data):
            pos = t.pos  # not a page header (e.g. inline column metadata): skip it
            continue
        body = data[t.pos:t.pos + csize]
        pos = t.pos + csize
        skip, compressed = 0, codec != 0
        v2 = h.get(8)
        if isinstance(v2, dict):
            skip = (v2.get(5) or 0) + (v2.get(6) or 0)
            compressed = compressed and v2.get(7, True)
        payload = body[skip:]
        dec = None
        if compressed:
            for fn in (snappy_decompress, zlib_any):
                try:
                    d = fn(payload)
                    if len(d) == usize - skip:
                        dec = d
                        break
                except Exception:
                    pass
        out.append(dec if dec is not None else payload)


def parquet_page_texts(data: bytes):
    """Decompressed page payloads of a Parquet file (best effort), found from the footer."""
    out = []
    if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        return out
    flen = int.from_bytes(data[-8:-4], "little")
    fstart = len(data) - 8 - flen
    try:
        fmd = _Thrift(data, fstart).struct()
        chunks = [(cc.get(3) or {}) for rg in (fmd.get(4) or []) for cc in (rg.get(1) or [])]
    except Exception:
        chunks = []
    if not chunks:
        try:
            _pages(data, 4, fstart, 1, out)
        except Exception:
            pass
        return out
    for md in chunks:
        try:
            starts = [o for o in (md.get(11), md.get(9)) if isinstance(o, int) and o > 0]
            start = min(starts)
            _pages(data, start, start + md.get(7), md.get(4, 1), out)
        except Exception:
            continue
    return out


def zlib_any(b):
    import zlib
    return zlib.decompress(b, 47)


try:  # optional
    import pyarrow.parquet as _pq  # type: ignore
except Exception:  # pragma: no cover
    _pq = None


def file_blobs(path: Path, data: bytes):
    """The byte strings and texts to search for one output file."""
    blobs = [data]
    texts = []
    name = path.name.lower()
    if data[:4] == b"PAR1":
        blobs += parquet_page_texts(data)
        if _pq is not None:
            try:
                tbl = _pq.read_table(str(path))
                texts.append(json.dumps(tbl.to_pylist(), default=str, ensure_ascii=False))
                md = _pq.read_metadata(str(path)).metadata or {}
                texts.append(repr(md))
            except Exception:
                pass
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in z.infolist():
                    if info.file_size < 256 * MB:
                        m = z.read(info)
                        blobs.append(m)
                        texts.append(html.unescape(m.decode("utf-8", "replace")))
        except Exception:
            pass
    if data[:2] == b"\x1f\x8b":
        try:
            blobs.append(gzip.decompress(data))
        except Exception:
            pass
    if name.endswith((".html", ".htm", ".xml", ".svg")):
        texts.append(html.unescape(data.decode("utf-8", "replace")))
    return blobs, texts


# --------------------------------------------------------------------------------------------
# Files and pipelines
# --------------------------------------------------------------------------------------------

def sha1_file(p):
    h = hashlib.sha1()
    with open(p, "rb") as f:
        while True:
            b = f.read(4 * MB)
            if not b:
                return h.hexdigest()
            h.update(b)


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(4 * MB)
            if not b:
                return h.hexdigest()
            h.update(b)


def snapshot(roots):
    snap = {}
    for r in roots:
        r = str(r)
        if not os.path.lexists(r):
            continue
        for dp, dns, fns in os.walk(r, followlinks=False):
            for n in list(dns):
                p = os.path.join(dp, n)
                if os.path.islink(p):
                    snap[p] = ("link", os.readlink(p))
                    dns.remove(n)
                else:
                    snap[p] = ("dir",)
            for n in fns:
                p = os.path.join(dp, n)
                try:
                    st = os.lstat(p)
                    if stat.S_ISLNK(st.st_mode):
                        snap[p] = ("link", os.readlink(p))
                    elif stat.S_ISREG(st.st_mode):
                        snap[p] = ("file", st.st_size, sha1_file(p))
                    else:
                        snap[p] = ("other", stat.S_IFMT(st.st_mode))
                except (FileNotFoundError, PermissionError):
                    continue
    return snap


def toml_str(s):
    return json.dumps(s, ensure_ascii=False)


def pipeline_text(name, key_file, sources, as_of="2024-12-31", min_count=5, max_reject_rate=0.05):
    L = [f"name = {toml_str(name)}", f"key_file = {toml_str(key_file)}", f'as_of = "{as_of}"',
         f"min_count = {min_count}", f"max_reject_rate = {max_reject_rate}"]
    for s in sources:
        L += ["", "[[sources]]"]
        for k in ("name", "path", "encoding", "delimiter", "region", "office", "child_id_scheme", "sheet"):
            if s.get(k) is not None:
                L.append(f"{k} = {toml_str(s[k])}")
        if s.get("date_formats"):
            L.append("date_formats = [" + ", ".join(map(toml_str, s["date_formats"])) + "]")
        L.append("[sources.columns]")
        for f, col in s["columns"].items():
            L.append(f"{f} = {toml_str(col)}")
        for field, vm in s.get("values", {}).items():
            L.append(f"[sources.values.{field}]")
            for k, v in vm.items():
                L.append(f"{toml_str(k)} = {toml_str(v)}")
    return "\n".join(L) + "\n"


def source(name, path, columns=None, values=None, encoding="utf-8", delimiter=",", scheme="egn", **kw):
    s = {"name": name, "path": path, "encoding": encoding, "delimiter": delimiter,
         "date_formats": [DATE_FMT], "child_id_scheme": scheme,
         "columns": dict(columns or GOOD_COLUMNS),
         "values": {k: dict(v) for k, v in (values or GOOD_VALUES).items()}}
    s.update(kw)
    return s


def make_rows(rng: random.Random, people, n, as_of=dt.date(2024, 12, 31), offset=0):
    rows = []
    for i in range(n):
        p = people[(offset + i) % len(people)]
        region, office = REGIONS[(offset + i) % len(REGIONS)]
        ctype = "Превенция" if rng.random() < 0.6 else "Реинтеграция"
        opened = rand_date(rng, 2015, 2023)
        closed = ""
        outcome = placement = ""
        if rng.random() < 0.6:
            c = opened + dt.timedelta(days=rng.randint(10, 700))
            if c <= as_of:
                closed = c.strftime(DATE_FMT)
                lab, _, placement = rng.choice(PREV_OUT if ctype == "Превенция" else REIN_OUT)
                outcome = lab
        rows.append([p.egn, p.name, p.birth.strftime(DATE_FMT), "Ж" if p.sex == "F" else "М",
                     p.address, p.phone, p.mother_egn, region, office, ctype,
                     opened.strftime(DATE_FMT), closed, outcome, placement, p.note])
    return rows


def csv_text(header, rows, delim=",", eol="\n"):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delim, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    if header is not None:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def plain_line(fields, delim=";", eol="\n"):
    """A record with no quotes at all: delimiter, quotes and line breaks removed from fields."""
    clean = [f.replace('"', "").replace(delim, " ").replace("\n", " ").replace("\r", " ") for f in fields]
    return delim.join(clean) + eol


def write_repeated(path, head: bytes, block: bytes, total: int, tail: bytes = b""):
    """head, then block repeated (whole blocks) until about `total` bytes, then tail."""
    chunk = block * max(1, (4 * MB) // max(1, len(block)))
    with open(path, "wb") as f:
        f.write(head)
        n = len(head)
        while n + len(chunk) <= total:
            f.write(chunk)
            n += len(chunk)
        while n + len(block) <= total:
            f.write(block)
            n += len(block)
        f.write(tail)


# --------------------------------------------------------------------------------------------
# The framework
# --------------------------------------------------------------------------------------------

class Skip(Exception):
    pass


# The child is started by a small, fresh interpreter so that its peak RSS (ru_maxrss from wait4)
# does not include the battery's own high-water mark, which fork/vfork would pass on.
SPAWN_HELPER = r"""
import json, os, sys
res, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2, ("battery: cannot run %s: %s\n" % (argv[0], e)).encode())
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
with open(res, "w") as f:
    json.dump({"status": status, "maxrss": ru.ru_maxrss}, f)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


class RunResult:
    def __init__(self):
        self.code = None
        self.signal = None
        self.timed_out = False
        self.peak_kb = 0
        self.secs = 0.0
        self.stdout = ""
        self.stderr = ""
        self.json_text = ""


class Handle:
    """A started run; finish() waits for it and applies the checks."""

    def __init__(self, case, label, proc, fo, fe, start, kw):
        self.case, self.label, self.proc, self.fo, self.fe, self.start, self.kw = case, label, proc, fo, fe, start, kw
        self.status = None
        self.rusage = None
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self):
        try:
            _, status, ru = os.wait4(self.proc.pid, 0)
            self.status, self.rusage = status, ru
            self.proc.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            self.status = 0

    def running(self):
        return self.thread.is_alive()


class Case:
    def __init__(self, bat, name):
        self.bat = bat
        self.name = name
        self.dir = bat.base / name
        self.work = self.dir / "work"
        self.io = self.dir / "io"
        self.tmp = self.dir / "tmp"
        self.home = self.dir / "home"
        for d in (self.work, self.io, self.tmp, self.home):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        os.chmod(self.work, 0o755)
        os.chmod(self.tmp, 0o1777)
        self.failures = []
        self.notes = []
        self.mounts = []
        self.restore = []
        self.nruns = 0
        self.peak_kb = 0
        self.roots = [self.work, self.tmp, self.home]
        self.P = bat.planted

    # ---- helpers to build inputs
    def p(self, *parts) -> Path:
        return self.work.joinpath(*parts)

    def write(self, rel, content, encoding="utf-8"):
        path = self.p(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode(encoding)
        path.write_bytes(content)
        return path

    def key(self, rel="keys/k.key", owner=None):
        path = self.p(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.bat.key_path, path)
        os.chmod(path, 0o600 if not self.bat.demo_key else 0o644)
        if owner is not None:
            os.chown(path, owner, owner)
        return path

    def pipeline(self, sources, rel="pipe.toml", name="hostile", key_rel="keys/k.key", key_owner=None, **kw):
        self.key(key_rel, owner=key_owner)
        return self.write(rel, pipeline_text(name, key_rel, sources, **kw))

    def good_csv(self, rel="data/good/good.csv", n=300, seed=1, offset=0, **kw):
        rng = random.Random(seed)
        rows = make_rows(rng, self.bat.people, n, offset=offset)
        return self.write(rel, csv_text(LAYOUT, rows, **kw))

    def fail(self, msg):
        self.failures.append(msg)

    def mount_tmpfs(self, path, size):
        if os.geteuid() != 0:
            raise Skip("needs root to mount a tmpfs")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise Skip(f"cannot mount tmpfs: {r.stderr.strip()}")
        self.mounts.append(path)
        self.bat.mounts.append(path)
        return path

    def remount_ro(self, path):
        r = subprocess.run(["mount", "-o", "remount,ro", str(path)], capture_output=True, text=True)
        if r.returncode != 0:
            raise Skip(f"cannot remount read-only: {r.stderr.strip()}")

    def env(self, **extra):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home),
             "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC", "TMPDIR": str(self.tmp)}
        e.update(extra)
        return e

    # ---- running
    def start(self, args, *, expect, msg=None, outdirs=(), prefix=None, env=None, cwd=None,
              timeout=180, json_log=None, mem_limit=MEM_LIMIT_KB, label=None, staging=True,
              allow=(), allow_prefix=(), killed_ok=False):
        self.nruns += 1
        label = label or f"run{self.nruns}"
        argv = list(prefix if prefix is not None else [self.bat.binary]) + [str(a) for a in args]
        if json_log is None:
            json_log = "json" in [str(a) for a in args]
        pre = snapshot(self.roots)
        outdirs = [Path(o) for o in outdirs]
        listed = {str(o): manifest_listed(o) for o in outdirs}
        mstat = {str(o): stat_sig(Path(os.path.realpath(o), "manifest.json")) for o in outdirs}
        dstat = {str(o): stat_sig(os.path.realpath(o))[:2] if stat_sig(os.path.realpath(o)) else None
                 for o in outdirs}
        fo = open(self.io / f"{label}.out", "w+b")
        fe = open(self.io / f"{label}.err", "w+b")
        start = time.monotonic()
        resf = self.io / f"{label}.rusage.json"
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", SPAWN_HELPER, str(resf)] + argv,
                                stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, start_new_session=True,
                                cwd=str(cwd or self.work), env=env or self.env())
        self.bat.procs.append(proc)
        kw = dict(expect=set([expect] if isinstance(expect, int) else expect), msg=msg,
                  outdirs=outdirs, timeout=timeout, json_log=json_log, mem_limit=mem_limit,
                  pre=pre, listed=listed, mstat=mstat, dstat=dstat, staging=staging, allow=[str(a) for a in allow],
                  allow_prefix=[str(a) for a in allow_prefix], killed_ok=killed_ok)
        h = Handle(self, label, proc, fo, fe, start, kw)
        h.resf = resf
        return h

    def run(self, args, **kw) -> RunResult:
        return self.finish(self.start(args, **kw))

    def finish(self, h: Handle) -> RunResult:
        kw = h.kw
        rr = RunResult()
        h.thread.join(max(0.0, kw["timeout"] - (time.monotonic() - h.start)))
        if h.thread.is_alive():
            rr.timed_out = True
            try:
                os.killpg(h.proc.pid, signal.SIGKILL)  # the helper's own process group
            except ProcessLookupError:
                pass
            h.thread.join(30)
        rr.secs = time.monotonic() - h.start
        try:
            res = json.loads(h.resf.read_text())
            rr.peak_kb = res["maxrss"]
            code = os.waitstatus_to_exitcode(res["status"])
        except (OSError, ValueError, KeyError):
            code = h.proc.returncode
            if rr.timed_out:
                code = -signal.SIGKILL
        self.peak_kb = max(self.peak_kb, rr.peak_kb)
        if code is not None and code < 0:
            rr.signal = -code
        rr.code = code
        for f, attr in ((h.fo, "stdout"), (h.fe, "stderr")):
            f.seek(0)
            setattr(rr, attr, f.read().decode("utf-8", "replace"))
            f.close()
        self.check_run(h.label, rr, kw)
        return rr

    # ---- checks
    def check_run(self, label, rr: RunResult, kw):
        L = f"[{label}] "
        both = rr.stdout + "\n" + rr.stderr
        if rr.timed_out:
            self.fail(L + f"timed out after {kw['timeout']}s (killed)")
        elif rr.signal and kw["killed_ok"]:
            pass
        elif rr.signal:
            self.fail(L + f"killed by signal {rr.signal}")
        elif rr.code not in VALID_CODES:
            self.fail(L + f"exit code {rr.code}" + (" (panic)" if rr.code == 101 else ""))
        m = PANIC_RE.search(both)
        if m:
            line = both[max(0, m.start() - 80):m.end() + 80].replace("\n", " ")
            self.fail(L + f"panic text on the console: …{self.P.redact(line)}…")
        if not rr.timed_out and rr.code in VALID_CODES and rr.code not in kw["expect"] and not (
                rr.signal and kw["killed_ok"]):
            self.fail(L + f"exit {rr.code}, expected {'/'.join(map(str, sorted(kw['expect'])))}"
                      + f" — {self.last_line(rr)}")
        # json log: every line an object
        if kw["json_log"]:
            bad = 0
            msgs = []
            for line in rr.stderr.splitlines():
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    if not isinstance(obj, dict):
                        bad += 1
                    else:
                        msgs.append(json.dumps(obj, ensure_ascii=False))
                        msgs += [str(v) for v in obj.values() if isinstance(v, str)]
                except ValueError:
                    bad += 1
            if bad:
                self.fail(L + f"{bad} stderr line(s) of a --log-format json run are not JSON objects")
            rr.json_text = "\n".join(msgs)
        if kw["msg"] and not rr.timed_out and not rr.signal:
            if not re.search(kw["msg"], both + "\n" + rr.json_text, re.IGNORECASE | re.DOTALL):
                self.fail(L + f"message does not match /{kw['msg']}/ — {self.last_line(rr)}")
        if kw["mem_limit"] and rr.peak_kb > kw["mem_limit"]:
            self.fail(L + f"peak RSS {rr.peak_kb // 1024} MiB > {kw['mem_limit'] // 1024} MiB")
        # console leaks
        for where, text in (("stdout", rr.stdout), ("stderr", rr.stderr), ("json log", rr.json_text)):
            found = self.P.scan_text(text)
            if found:
                self.fail(L + f"leak on {where}: " + ", ".join(f"{k}×{v}" for k, v in sorted(found.items())))
        # files
        post = snapshot(self.roots)
        self.check_files(L, rr, kw, kw["pre"], post)

    def last_line(self, rr):
        lines = [l for l in rr.stderr.splitlines() if l.strip()]
        if not lines:
            lines = [l for l in rr.stdout.splitlines() if l.strip()] or ["(no output)"]
        # prefer an error line
        pick = next((l for l in reversed(lines) if re.search(r"error|refus|fail", l, re.I)), lines[-1])
        pick = self.P.redact(pick.strip())
        return pick[:220] + ("…" if len(pick) > 220 else "")

    def check_files(self, L, rr, kw, pre, post):
        allowed = set(kw["allow"])
        outs = kw["outdirs"]
        for o in outs:
            for od in {os.path.abspath(o), os.path.realpath(o)}:
                parent, base = os.path.dirname(od), os.path.basename(od)
                allowed.add(os.path.join(parent, f".{base}.lock"))
                killed_after_swap = (rr.signal and kw["killed_ok"]
                                     and (stat_sig(os.path.realpath(o)) or (0, 0))[:2] != kw["dstat"].get(str(o)))
                if killed_after_swap:
                    self.notes.append("killed after the swap: checked the new outputs are whole")
                    self.check_manifest(L, os.path.realpath(o))
                if rr.code in (0, 3) or killed_after_swap:
                    names = kw["listed"].get(str(o)) or set()
                    for n in names:
                        allowed.add(os.path.join(od, n))
                    if names:
                        allowed.add(os.path.join(od, "manifest.json"))
        lost, changed = [], []
        for p, v in pre.items():
            if p in allowed or any(p.startswith(a) for a in kw["allow_prefix"]):
                continue
            if p not in post:
                lost.append(p)
            elif post[p] != v:
                changed.append(p)
        rel = self.rel
        if lost:
            self.fail(L + f"lost {len(lost)} file(s)/folder(s) it did not own: "
                      + ", ".join(rel(p) for p in sorted(lost)[:4]) + ("…" if len(lost) > 4 else ""))
        if changed:
            self.fail(L + f"changed {len(changed)} file(s) it did not own: "
                      + ", ".join(rel(p) for p in sorted(changed)[:4]) + ("…" if len(changed) > 4 else ""))
        if rr.code in (1, 2):
            for o in outs:
                before = kw["dstat"].get(str(o))
                now = stat_sig(os.path.realpath(o))
                if before and (not now or now[:2] != before):
                    self.fail(L + f"exit {rr.code}, yet the output folder {rel(o)} was replaced")
        # staging and scratch
        if kw["staging"]:
            left = []
            for o in outs:
                for od in {os.path.abspath(o), os.path.realpath(o)}:
                    parent, base = os.path.dirname(od), os.path.basename(od)
                    try:
                        for n in os.listdir(parent):
                            if n.startswith(f".{base}.staging"):
                                left.append(os.path.join(parent, n))
                    except OSError:
                        pass
            left += [p for p in post if p not in pre and re.search(r"\.staging-|scratch", os.path.basename(p))]
            left = sorted(set(left))
            if left:
                self.fail(L + "left behind: " + ", ".join(rel(p) for p in left[:3]))
        # leaks in what the run wrote: new or changed files, and the outputs of a run that wrote them
        written = {p for p, v in post.items() if v[0] == "file" and pre.get(p) != v}
        if rr.code in (0, 3):
            for o in outs:
                od = os.path.realpath(o)
                owned = kw["listed"].get(str(o)) or set()
                for dp, _, fns in os.walk(od):
                    for n in fns:
                        p = os.path.join(dp, n)
                        if p not in pre or n in owned or n == "manifest.json":
                            written.add(p)
        written = sorted(written)
        leaks = {}
        for p in written:
            try:
                with open(p, "rb") as f:
                    data = f.read(256 * MB)
            except OSError:
                continue
            blobs, texts = file_blobs(Path(p), data)
            found = {}
            for b in blobs:
                for k, v in self.P.scan_bytes(b).items():
                    found[k] = max(found.get(k, 0), v)
            for t in texts:
                for k, v in self.P.scan_text(t).items():
                    found[k] = max(found.get(k, 0), v)
            if found:
                leaks[rel(p)] = found
        for p, found in sorted(leaks.items()):
            self.fail(L + f"leak in {p}: " + ", ".join(f"{k}×{v}" for k, v in sorted(found.items())))
        # accounting and manifest consistency
        if rr.code in (0, 3):
            for o in outs:
                od = os.path.realpath(o)
                mp = os.path.join(od, "manifest.json")
                if not os.path.isfile(mp):
                    self.fail(L + f"exit {rr.code} but no manifest.json in {rel(od)}")
                    continue
                if kw["mstat"].get(str(o)) == stat_sig(Path(mp)):
                    self.fail(L + f"exit {rr.code} but {rel(mp)} was not rewritten")
                    continue
                self.check_manifest(L, od)

    def check_manifest(self, L, od):
        try:
            m = json.loads(Path(od, "manifest.json").read_text("utf-8"))
        except Exception as e:
            self.fail(L + f"manifest.json does not parse: {e}")
            return
        total_rej = None
        for d, r, a, j, u in accounting_entries(m):
            if r != a + j + u:
                self.fail(L + f"accounting: rows_read {r} != accepted {a} + rejected {j} + duplicate {u}")
        per_file = [e for e in accounting_entries(m) if any(isinstance(v, str) and "/" in v for v in e[0].values())]
        if per_file:
            total_rej = sum(e[3] for e in per_file)
        # outputs listed with their SHA-256
        files = {n for n in os.listdir(od) if os.path.isfile(os.path.join(od, n))}
        listed = {}
        src = m.get("outputs") if isinstance(m.get("outputs"), list) else m
        for d in walk_dicts(src):
            sha = next((v for k, v in d.items() if "sha256" in k.lower() and isinstance(v, str)), None)
            path = next((v for k, v in d.items() if k.lower() in ("path", "file", "name") and isinstance(v, str)), None)
            if not sha or not path:
                continue
            base = os.path.basename(path)
            if base in files and not (os.path.isabs(path) and os.path.exists(path)
                                      and os.path.realpath(os.path.dirname(path)) != od
                                      and ".staging" not in path):
                listed[base] = sha
        for n in sorted(files - {"manifest.json"}):
            if n not in listed:
                self.fail(L + f"{n} is in the output folder but not listed in manifest.json")
            elif sha256_file(os.path.join(od, n)) != listed[n].lower():
                self.fail(L + f"{n}: SHA-256 differs from the manifest")
        rj = os.path.join(od, "rejects.csv")
        if total_rej is not None and os.path.isfile(rj):
            with open(rj, newline="", encoding="utf-8-sig", errors="replace") as f:
                n = sum(1 for _ in csv.reader(f)) - 1
            if n != total_rej:
                self.fail(L + f"rejects.csv has {n} records, manifest says {total_rej} rejected")

    def rel(self, p):
        p = str(p)
        for r in (self.dir,):
            if p.startswith(str(r)):
                return os.path.relpath(p, r)
        return p

    def file_counts(self, od, filename):
        """(read, accepted, rejected, duplicate) of the manifest entry naming filename."""
        try:
            m = json.loads(Path(os.path.realpath(od), "manifest.json").read_text("utf-8"))
        except Exception:
            return None
        for d, r, a, j, u in accounting_entries(m):
            if any(isinstance(v, str) and v.endswith(filename) for v in d.values()):
                return (r, a, j, u)
        return None

    def cleanup(self):
        for m in reversed(self.mounts):
            self.bat.umount(m)
        self.mounts.clear()
        for top in self.restore:
            for dp, dns, fns in os.walk(top):
                try:
                    os.chmod(dp, 0o755)
                except OSError:
                    pass
                for n in dns:
                    try:
                        os.chmod(os.path.join(dp, n), 0o755)
                    except OSError:
                        pass


def stat_sig(p):
    try:
        st = os.stat(p)
        return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        return None


def force_rmtree(path):
    """rmtree that gives write permission back to folders (ours) that a test made read-only."""
    def onerror(fn, p, exc):
        try:
            os.chmod(os.path.dirname(p), 0o755)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o755)
                shutil.rmtree(p, onerror=onerror)
            else:
                os.unlink(p)
        except OSError:
            pass
    for dp, dns, _ in os.walk(path):
        for n in dns:
            q = os.path.join(dp, n)
            if not os.path.islink(q):
                try:
                    os.chmod(q, 0o755)
                except OSError:
                    pass
    shutil.rmtree(path, onerror=onerror)


def walk_dicts(o):
    if isinstance(o, dict):
        yield o
        for v in o.values():
            yield from walk_dicts(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk_dicts(v)


def accounting_entries(m):
    for d in walk_dicts(m):
        got = {}
        for k, v in d.items():
            if not isinstance(v, int) or isinstance(v, bool):
                continue
            kl = k.lower()
            for tag, word in (("r", "read"), ("a", "accept"), ("j", "reject"), ("u", "dup")):
                if word in kl and tag not in got:
                    got[tag] = v
        if len(got) == 4:
            yield d, got["r"], got["a"], got["j"], got["u"]
        elif isinstance(d.get("rows"), dict):
            pass  # nested form is found when walking into it


def manifest_listed(od):
    """Names of the outputs a folder's manifest.json lists (empty if none/unreadable)."""
    mp = Path(os.path.realpath(od), "manifest.json")
    try:
        m = json.loads(mp.read_text("utf-8"))
    except Exception:
        return set()
    names = set()
    src = m.get("outputs") if isinstance(m, dict) and isinstance(m.get("outputs"), list) else m
    for d in walk_dicts(src):
        if any("sha256" in k.lower() for k in d):
            for k, v in d.items():
                if k.lower() in ("path", "file", "name") and isinstance(v, str):
                    names.add(os.path.basename(v))
    return names


class Battery:
    def __init__(self, binary, keep, tmp):
        self.binary = os.path.abspath(binary)
        self.keep = keep
        self.base = Path(tempfile.mkdtemp(prefix="outcomes-hostile-", dir=tmp))
        os.chmod(self.base, 0o755)
        self.mounts = []
        self.procs = []
        rng = random.Random(20240601)
        self.people = [Person(rng, i) for i in range(1200)]
        self.planted = Planted(self.people)
        self.key_path = None
        self.demo_key = False

    def setup_key(self):
        kp = self.base / "master.key"
        r = subprocess.run([self.binary, "keygen", str(kp)], capture_output=True, text=True,
                           env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.base)}, timeout=60)
        if r.returncode == 0 and kp.exists():
            self.key_path = kp
            for line in kp.read_text("utf-8", "replace").splitlines():
                m = re.search(r"\b[0-9a-fA-F]{64}\b", line)
                if m:
                    self.planted.secrets.append(m.group(0).lower())
        else:
            demo = Path(__file__).resolve().parents[2] / "keys" / "demo.key"
            self.key_path = demo
            self.demo_key = True
            print(f"note: keygen failed (exit {r.returncode}); using the demo key", file=sys.stderr)

    def umount(self, path):
        for args in (["umount", str(path)], ["umount", "-l", str(path)]):
            r = subprocess.run(args, capture_output=True)
            if r.returncode == 0:
                break
        if path in self.mounts:
            self.mounts.remove(path)

    def mounted_under_base(self):
        out = []
        try:
            with open("/proc/self/mounts") as f:
                for line in f:
                    mp = line.split()[1].replace("\\040", " ")
                    if mp.startswith(str(self.base) + "/"):
                        out.append(mp)
        except OSError:
            pass
        return out

    def cleanup(self):
        for p in self.procs:
            if p.returncode is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)  # a helper we started, and its child
                except Exception:
                    pass
        for m in list(reversed(self.mounts)):
            self.umount(m)
        for mp in sorted(self.mounted_under_base(), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        if self.mounted_under_base():
            print(f"warning: mounts remain under {self.base}; not deleting it", file=sys.stderr)
            return
        if self.keep:
            print(f"kept: {self.base}")
        else:
            force_rmtree(self.base)


CASES = []

# Cases whose expectations (an exit code, the wording of a message, rows read) need a feature
# that is not built yet. Such a case still FAILs on any panic, leak, lost or changed file,
# staging left behind or memory over the limit; when only those expectations fail it is
# XFAIL, and when it passes it is XPASS: then take it off this list.
PENDING = {}
EXPECTATION_ONLY = re.compile(r"^(\[[^\]]*\] )?(exit -?\d+, expected|message does not match|rows_read \d+, expected)")


def case(name, group=""):
    def deco(fn):
        CASES.append((name, fn, group))
        return fn
    return deco


# --------------------------------------------------------------------------------------------
# Sandboxes for `--out /` and `--out $HOME`
# --------------------------------------------------------------------------------------------

def build_root(c: Case, root: Path, data_rows=200):
    """A scratch root: the binary and its libraries, /work with a pipeline, data and key."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "bin").mkdir(exist_ok=True)
    shutil.copy2(c.bat.binary, root / "bin" / "outcomes")
    r = subprocess.run(["ldd", c.bat.binary], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        m = re.search(r"(/\S+)\s+\(0x", line)
        if m and os.path.exists(m.group(1)):
            lib = m.group(1)
            dst = root / lib.lstrip("/")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.realpath(lib), dst)
    for d in ("tmp", "etc", "dev", "work/data/good", "work/keys", "home/user"):
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    (root / "etc/passwd").write_text("root:x:0:0:root:/home/user:/bin/sh\n"
                                     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    if os.geteuid() == 0:
        for n, (ma, mi) in (("null", (1, 3)), ("zero", (1, 5)), ("urandom", (1, 9))):
            try:
                os.mknod(root / "dev" / n, 0o666 | stat.S_IFCHR, os.makedev(ma, mi))
            except OSError:
                pass
    rng = random.Random(7)
    (root / "work/data/good/good.csv").write_text(csv_text(LAYOUT, make_rows(rng, c.bat.people, data_rows)), "utf-8")
    shutil.copyfile(c.bat.key_path, root / "work/keys/k.key")
    os.chmod(root / "work/keys/k.key", 0o600 if not c.bat.demo_key else 0o644)
    (root / "work/pipe.toml").write_text(
        pipeline_text("hostile", "keys/k.key", [source("good", "data/good/*.csv")]), "utf-8")
    return root


def sandbox_prefix(root: Path):
    forced = os.environ.get("BATTERY_SANDBOX")
    if forced != "bwrap" and os.geteuid() == 0 and shutil.which("chroot"):
        return [shutil.which("chroot"), str(root), "/bin/outcomes"]
    if shutil.which("bwrap"):
        return [shutil.which("bwrap"), "--bind", str(root), "/", "--dev", "/dev", "--unshare-all",
                "--die-with-parent", "--chdir", "/work", "/bin/outcomes"]
    raise Skip("neither chroot (as root) nor bwrap is available")


def sandbox_env(c, home="/home/user"):
    return {"PATH": "/bin", "HOME": home, "LANG": "C.UTF-8", "TZ": "UTC", "TMPDIR": "/tmp"}


# --------------------------------------------------------------------------------------------
# Cases 1: wrongly mapped personal columns
# --------------------------------------------------------------------------------------------

# SPEC 2: the end-of-run summary gives the number of distinct unmapped values (or "more than 50")
# and says the column does not look like labels
LABEL_SUMMARY = r"more than 50|look like (a column of )?labels|check the mapping|\d+ distinct"


def map_case(c: Case, field, column, *, expect, n_people=300, rows=6000, msg=None, scheme="egn",
             drop_values=None, people=None):
    people = people or c.bat.people[:n_people]
    c.good_csv(n=600)
    rng = random.Random(11)
    c.write("data/bad/bad.csv", csv_text(LAYOUT, make_rows(rng, people, rows)))
    cols = dict(GOOD_COLUMNS)
    cols[field] = column
    vals = {k: v for k, v in GOOD_VALUES.items() if k != drop_values}
    c.pipeline([source("good", "data/good/*.csv"),
                source("bad", "data/bad/*.csv", columns=cols, values=vals, scheme=scheme)])
    out = c.p("out")
    c.run(["run", "pipe.toml", "--out", out], expect=expect, msg=msg, outdirs=[out], label="run-text")
    c.run(["run", "pipe.toml", "--out", out, "--log-format", "json"], expect=expect, msg=msg,
          outdirs=[out], label="run-json")
    c.run(["check", "pipe.toml"], expect=(expect if expect == 1 else {0, 3}), msg=msg, label="check")


@case("map_name_as_outcome", "mapping")
def _(c):
    map_case(c, "outcome", "Име на детето", expect=3, msg=LABEL_SUMMARY)


@case("map_name_as_case_type", "mapping")
def _(c):
    map_case(c, "case_type", "Име на детето", expect=3, msg=LABEL_SUMMARY)


@case("map_address_as_sex", "mapping")
def _(c):
    map_case(c, "sex", "Адрес", expect={0, 3})


@case("map_birth_date_as_placement_type", "mapping")
def _(c):
    map_case(c, "placement_type", "Дата на раждане", expect={0, 3})


@case("map_notes_as_outcome", "mapping")
def _(c):
    map_case(c, "outcome", "Бележки", expect=3, msg=LABEL_SUMMARY)


@case("map_name_as_region", "mapping")
def _(c):
    map_case(c, "region", "Име на детето", expect=3, msg=LABEL_SUMMARY)


@case("map_address_as_municipality", "mapping")
def _(c):
    map_case(c, "municipality", "Адрес", expect={0, 3})


@case("map_name_as_closed_date", "mapping")
def _(c):
    map_case(c, "closed", "Име на детето", expect=3)


@case("map_name_as_child_id_egn", "mapping")
def _(c):
    map_case(c, "child_id", "Име на детето", expect=3)


@case("map_mother_egn_as_outcome_20_values", "mapping")
def _(c):
    # 20 distinct ЕГН, each in 50 rows: looks like labels by count, but 6+ digits: never listed
    map_case(c, "outcome", "ЕГН на майката", expect=3, n_people=20, rows=1000)


@case("map_name_as_outcome_rare", "mapping")
def _(c):
    # 40 distinct names, 3 rows each (< min_count): never listed
    map_case(c, "outcome", "Име на детето", expect=3, n_people=40, rows=120)


@case("map_name_as_office_800", "mapping")
def _(c):
    map_case(c, "office", "Име на детето", expect=1, n_people=800, rows=2400, msg=r"office|отдел")


@case("map_birth_date_as_office", "mapping")
def _(c):
    map_case(c, "office", "Дата на раждане", expect=1, n_people=900, rows=2700, msg=r"office|отдел")


@case("map_notes_as_office", "mapping")
def _(c):
    map_case(c, "office", "Бележки", expect=1, n_people=900, rows=2700, msg=r"office|отдел")


# --------------------------------------------------------------------------------------------
# Cases 2: what is already in the output folder
# --------------------------------------------------------------------------------------------

def std(c: Case, n=300):
    c.good_csv(n=n)
    c.pipeline([source("good", "data/good/*.csv")])
    return c.p("out")


def refusal(name):
    """A refusal names the file, or says why the folder is not the program's."""
    return rf"{name}|not listed|unlisted|not an outcomes|refus"


def previous_output(c: Case, out):
    c.run(["run", "pipe.toml", "--out", out], expect=0, outdirs=[out], label="first")
    if not (Path(out) / "manifest.json").is_file():
        raise Skip("the first (clean) run wrote no manifest.json")


@case("outdir_stray_manifest_and_user_doc", "outdir")
def _(c):
    out = std(c)
    c.write("out/manifest.json", json.dumps({"name": "Бюджет 2025", "short_name": "budget",
                                             "start_url": ".", "display": "standalone"}))
    c.write("out/Доклад за финансиране.docx", os.urandom(20000))
    c.run(["run", "pipe.toml", "--out", out], expect=2, msg=refusal("docx"), outdirs=[out])


@case("outdir_previous_plus_notes_txt", "outdir")
def _(c):
    out = std(c)
    previous_output(c, out)
    c.write("out/notes.txt", "моите бележки за отчета\n")
    c.run(["run", "pipe.toml", "--out", out], expect=2, msg=refusal(r"notes\.txt"), outdirs=[out])


@case("outdir_previous_plus_excel_lock", "outdir")
def _(c):
    out = std(c)
    previous_output(c, out)
    c.write("out/~$rates.xlsx", b"\x0bAdministrator" + b" " * 40 + b"\x00" * 110)
    c.run(["run", "pipe.toml", "--out", out], expect=2, msg=refusal(r"~\$rates\.xlsx"), outdirs=[out])


@case("outdir_previous_plus_subfolder", "outdir")
def _(c):
    out = std(c)
    previous_output(c, out)
    c.write("out/архив/2023/rates.xlsx", os.urandom(3000))
    c.run(["run", "pipe.toml", "--out", out], expect=2, msg=refusal("архив"), outdirs=[out])


@case("outdir_previous_manifest_deleted", "outdir")
def _(c):
    out = std(c)
    previous_output(c, out)
    os.unlink(out / "manifest.json")
    c.run(["run", "pipe.toml", "--out", out], expect=2, outdirs=[out])


@case("outdir_previous_manifest_corrupt", "outdir")
def _(c):
    out = std(c)
    previous_output(c, out)
    mp = out / "manifest.json"
    mp.write_bytes(mp.read_bytes()[: len(mp.read_bytes()) // 2])
    c.run(["run", "pipe.toml", "--out", out], expect=2, outdirs=[out])


@case("outdir_previous_outputs_edited", "outdir")
def _(c):
    out = std(c)
    previous_output(c, out)
    for n in os.listdir(out):
        if n.endswith(".xlsx"):
            (out / n).write_bytes(os.urandom(5000))  # "saved from Excel"
        if n.endswith(".html"):
            with open(out / n, "ab") as f:
                f.write(b"<!-- edited -->")
        if n == "rejects.csv":
            with open(out / n, "ab") as f:
                f.write(b"edited,1,x,y,z\n")
    c.run(["run", "pipe.toml", "--out", out], expect={0, 3}, outdirs=[out])


@case("outdir_user_folder", "outdir")
def _(c):
    out = std(c)
    c.write("out/Моите документи/писмо.odt", os.urandom(4000))
    c.write("out/снимка.jpg", os.urandom(4000))
    c.run(["run", "pipe.toml", "--out", out], expect=2, outdirs=[out])


@case("outdir_is_input_folder", "outdir")
def _(c):
    std(c)
    c.run(["run", "pipe.toml", "--out", c.p("data/good")], expect=2, outdirs=[c.p("data/good")])


@case("outdir_dot_working_folder", "outdir")
def _(c):
    std(c)
    c.run(["run", "pipe.toml", "--out", "."], expect=2, outdirs=[c.work])


@case("outdir_empty_existing", "outdir")
def _(c):
    out = std(c)
    out.mkdir()
    c.run(["run", "pipe.toml", "--out", out], expect=0, outdirs=[out])


@case("outdir_empty_string", "outdir")
def _(c):
    std(c)
    c.run(["run", "pipe.toml", "--out", ""], expect=2)


# --------------------------------------------------------------------------------------------
# Cases 3: --out at odd places
# --------------------------------------------------------------------------------------------

def sandbox_case(c: Case, out_inside, *, expect, msg=None, home="/home/user", setup=None):
    root = build_root(c, c.p("root"))
    if setup:
        setup(root)
    prefix = sandbox_prefix(root)
    host_out = root / out_inside.lstrip("/") if out_inside != "/" else root
    c.run(["run", "/work/pipe.toml", "--out", out_inside], expect=expect, msg=msg, prefix=prefix,
          env=sandbox_env(c, home), outdirs=[] if out_inside == "/" else [host_out],
          cwd=root / "work")


@case("sandbox_sanity", "odd-out")
def _(c):
    # the sandbox itself works: a normal run inside it succeeds
    sandbox_case(c, "/work/out", expect=0)
    if not (c.p("root/work/out/manifest.json")).is_file():
        c.fail("no manifest.json written inside the sandbox")


@case("out_root", "odd-out")
def _(c):
    sandbox_case(c, "/", expect=2, msg=r"root|/")


@case("out_root_dotdot", "odd-out")
def _(c):
    sandbox_case(c, "/work/..", expect=2, msg=r"root|/")


def _home_files(root):
    (root / "home/user/.bashrc").write_text("export PS1='$ '\n")
    (root / "home/user/Документи").mkdir(parents=True, exist_ok=True)
    (root / "home/user/Документи/отчет.odt").write_bytes(os.urandom(3000))


@case("out_home_with_files", "odd-out")
def _(c):
    sandbox_case(c, "/home/user", expect=2, msg=r"home|домашн", setup=_home_files)


@case("out_home_empty", "odd-out")
def _(c):
    sandbox_case(c, "/home/user", expect=2, msg=r"home|домашн")


@case("out_home_tilde_slash", "odd-out")
def _(c):
    sandbox_case(c, "/home/user/", expect=2, msg=r"home|домашн", setup=_home_files)


@case("out_regular_file", "odd-out")
def _(c):
    std(c)
    f = c.write("report.pdf", b"%PDF-1.4\n" + os.urandom(2000))
    c.run(["run", "pipe.toml", "--out", f], expect=2, msg=r"report\.pdf|not a (folder|directory)|file",
          outdirs=[f])


@case("out_symlink_to_empty_folder", "odd-out")
def _(c):
    std(c)
    target = c.p("real/out")
    target.mkdir(parents=True)
    link = c.p("out")
    os.symlink(target, link)
    c.run(["run", "pipe.toml", "--out", link], expect=0, outdirs=[link])
    if not os.path.islink(link) or os.readlink(link) != str(target):
        c.fail("the symlink was not kept")
    elif not (target / "manifest.json").is_file():
        c.fail("outputs did not land in the link's target")


@case("out_symlink_to_previous_output", "odd-out")
def _(c):
    std(c)
    target = c.p("real/out")
    previous_output(c, target)
    link = c.p("out")
    os.symlink(target, link)
    c.run(["run", "pipe.toml", "--out", link], expect=0, outdirs=[link])
    if not os.path.islink(link) or os.readlink(link) != str(target):
        c.fail("the symlink was not kept")


@case("out_symlink_to_user_folder", "odd-out")
def _(c):
    std(c)
    c.write("real/docs/договор.pdf", b"%PDF-1.4\n" + os.urandom(3000))
    link = c.p("out")
    os.symlink(c.p("real/docs"), link)
    c.run(["run", "pipe.toml", "--out", link], expect=2, msg=refusal("договор"), outdirs=[link])


@case("out_dangling_symlink", "odd-out")
def _(c):
    std(c)
    link = c.p("out")
    os.symlink(c.p("nowhere/out"), link)
    c.run(["run", "pipe.toml", "--out", link], expect={0, 1, 2}, outdirs=[link])
    if not os.path.islink(link):
        c.fail("the symlink was replaced")


@case("out_mount_point", "odd-out")
def _(c):
    std(c)
    mp = c.mount_tmpfs(c.p("usb"), "16m")
    c.run(["run", "pipe.toml", "--out", mp], expect=2, msg=r"mount|монтир", outdirs=[mp])


def make_readonly(c, top):
    """Without root: take write permission away (restored before cleanup)."""
    for dp, dns, fns in os.walk(top):
        for n in fns:
            os.chmod(os.path.join(dp, n), 0o444)
    for dp, dns, fns in sorted(os.walk(top), key=lambda t: -len(t[0])):
        os.chmod(dp, 0o555)
    c.restore.append(top)


def ro_tmpfs_with_output(c):
    """A previous output in reports/out on a read-only file system (root: a tmpfs remounted
    read-only; otherwise a folder without write permission)."""
    std(c)
    if os.geteuid() == 0:
        mp = c.mount_tmpfs(c.p("ro"), "32m")
    else:
        mp = c.p("ro")
        mp.mkdir()
    out = mp / "reports" / "out"
    out.parent.mkdir(parents=True)
    previous_output(c, out)
    if os.geteuid() == 0:
        c.remount_ro(mp)
    else:
        make_readonly(c, mp)
    return mp, out


RO_MSG = r"read-only|read only|permission|denied|EROFS|cannot (create|write)|writ"


@case("out_readonly_folder_and_parent", "odd-out")
def _(c):
    mp, out = ro_tmpfs_with_output(c)
    c.run(["run", "pipe.toml", "--out", out], expect={1, 2}, msg=RO_MSG, outdirs=[out])


@case("out_new_folder_in_readonly_parent", "odd-out")
def _(c):
    mp, out = ro_tmpfs_with_output(c)
    new = out.parent / "new"
    c.run(["run", "pipe.toml", "--out", new], expect={1, 2}, msg=RO_MSG, outdirs=[new])


def nobody_prefix():
    if os.geteuid() != 0:
        return None  # already unprivileged: run as ourselves
    if not shutil.which("setpriv"):
        raise Skip("needs setpriv to run as nobody")
    return [shutil.which("setpriv"), f"--reuid={NOBODY_UID}", f"--regid={NOBODY_GID}", "--clear-groups", "--"]


def nobody_setup(c):
    pre = nobody_prefix()
    pre = None if pre is None else pre + [c.bat.binary]
    c.good_csv(n=300)
    for d in c.work.rglob("*"):
        os.chmod(d, 0o755 if d.is_dir() else 0o644)
    root = os.geteuid() == 0
    c.pipeline([source("good", "data/good/*.csv")], key_owner=NOBODY_UID if root else None)
    os.chmod(c.p("pipe.toml"), 0o644)
    os.chmod(c.p("keys"), 0o755)
    nb = c.p("nb")
    nb.mkdir()
    if root:
        os.chown(nb, NOBODY_UID, NOBODY_GID)
    return pre, nb


@case("out_readonly_folder_as_nobody", "odd-out")
def _(c):
    pre, nb = nobody_setup(c)
    out = nb / "out"
    c.run(["run", "pipe.toml", "--out", out], expect=0, prefix=pre, outdirs=[out], label="first")
    os.chmod(out, 0o555)
    c.restore.append(out)
    c.run(["run", "pipe.toml", "--out", out], expect={0, 1, 2}, prefix=pre, outdirs=[out])


@case("out_readonly_parent_as_nobody", "odd-out")
def _(c):
    pre, nb = nobody_setup(c)
    ro = c.p("rootowned")
    ro.mkdir()
    os.chmod(ro, 0o755)  # owned by root: nobody cannot write here
    if os.geteuid() != 0:
        make_readonly(c, ro)
    out = ro / "out"
    c.run(["run", "pipe.toml", "--out", out], expect={1, 2}, msg=RO_MSG, prefix=pre, outdirs=[out])


# --------------------------------------------------------------------------------------------
# Cases 4: big files without line breaks, unclosed quotes
# --------------------------------------------------------------------------------------------

def big_pipeline(c):
    c.pipeline([source("big", "data/big/*.csv", delimiter=";")])
    return c.p("out")


def big_rows_block(c, n=2000, seed=5):
    rng = random.Random(seed)
    return "".join(plain_line(r) for r in make_rows(rng, c.bat.people, n)).encode("utf-8")


@case("no_newline_record_200mb", "big")
def _(c):
    out = big_pipeline(c)
    rng = random.Random(3)
    row = make_rows(rng, c.bat.people, 1)[0]
    head = plain_line(LAYOUT).encode() + plain_line(row[:-1], eol="").encode() + b";"
    p = c.bat.people[0]
    block = f"{p.note.replace(',', ' ').replace(chr(10), ' ')} {p.name} {p.address.replace(',', ' ')} ".encode()
    c.p("data/big").mkdir(parents=True)
    write_repeated(c.p("data/big/export.csv"), head, block, 200 * MB)
    c.run(["run", "pipe.toml", "--out", out], expect={0, 1, 3}, outdirs=[out], timeout=300)


@case("no_line_break_at_all_200mb", "big")
def _(c):
    out = big_pipeline(c)
    head = plain_line(LAYOUT, eol=";").encode()
    block = big_rows_block(c, 500).replace(b"\n", b";")
    c.p("data/big").mkdir(parents=True)
    write_repeated(c.p("data/big/export.csv"), head, block, 200 * MB)
    c.run(["run", "pipe.toml", "--out", out], expect=1, msg=names_file("export.csv"), outdirs=[out],
          timeout=300)


@case("unclosed_quote_row3_100mb", "big")
def _(c):
    out = big_pipeline(c)
    rng = random.Random(4)
    rows = make_rows(rng, c.bat.people, 3)
    head = plain_line(LAYOUT) + plain_line(rows[0]) + plain_line(rows[1])
    head += plain_line(rows[2][:-1], eol="") + ';"' + "Кварцитово: започва цитат\n"
    c.p("data/big").mkdir(parents=True)
    write_repeated(c.p("data/big/export.csv"), head.encode(), big_rows_block(c), 100 * MB)
    c.run(["run", "pipe.toml", "--out", out], expect={0, 1, 3}, outdirs=[out], timeout=300)


@case("huge_quoted_field_in_middle_50mb", "big")
def _(c):
    out = big_pipeline(c)
    rng = random.Random(6)
    rows = make_rows(rng, c.bat.people, 400)
    head = plain_line(LAYOUT) + "".join(plain_line(r) for r in rows[:200])
    head += plain_line(rows[200][:-1], eol="") + ';"'
    p = c.bat.people[1]
    block = f'{p.name} каза ""не"" {p.phone}\n'.encode()
    tail = ('"\n' + "".join(plain_line(r) for r in rows[201:])).encode()
    c.p("data/big").mkdir(parents=True)
    write_repeated(c.p("data/big/export.csv"), head.encode(), block, 50 * MB, tail)
    c.run(["run", "pipe.toml", "--out", out], expect={0, 3}, outdirs=[out], timeout=300)
    # SPEC §9 / issue 13: a record past the few-MB bound is one rejected row
    # (record_too_long) and reading resumes at the next line break after the bound, so the
    # rest of the 50 MB field's lines are read as rows of their own (and rejected).
    cnt = c.file_counts(out, "export.csv")
    if cnt and cnt[0] < 400:
        c.fail(f"rows_read {cnt[0]}, expected at least 400 (the 200 rows on each side of the field)")
    rejects = Path(out) / "rejects.csv"
    if rejects.exists():
        lines = rejects.read_text("utf-8").splitlines()
        if not any(",202,,record_too_long," in line for line in lines):
            c.fail("no record_too_long reject for the record on line 202 that holds the 50 MB field")


# --------------------------------------------------------------------------------------------
# Case 5: a full disk
# --------------------------------------------------------------------------------------------

DISK_MSG_WORDS = r"(no space|disk.{0,20}full|full.{0,20}disk|ENOSPC|space left|няма място)"


def out_size(d):
    return sum(f.stat().st_size for f in Path(d).iterdir() if f.is_file())


@case("disk_full", "disk")
def _(c):
    """The disk fills at several points of the big run (scratch, Parquet, report, swap)."""
    if os.geteuid() != 0:
        raise Skip("needs root to mount a tmpfs")
    c.good_csv(n=60)
    c.pipeline([source("good", "data/good/*.csv")])
    rng = random.Random(8)
    c.write("data/big/big.csv", csv_text(LAYOUT, make_rows(rng, c.bat.people, 60000)))
    c.write("pipe-big.toml", pipeline_text("hostile", "keys/k.key", [source("big", "data/big/*.csv")]))
    probe, probe_big = c.p("probe"), c.p("probe-big")
    c.run(["run", "pipe.toml", "--out", probe], expect=0, outdirs=[probe], label="probe-small")
    c.run(["run", "pipe-big.toml", "--out", probe_big], expect=0, outdirs=[probe_big], label="probe-big")
    small, big = out_size(probe), out_size(probe_big)
    shutil.rmtree(probe_big)
    for i, frac in enumerate((0.05, 0.4, 0.75, 0.97)):
        tsize = ((2 * small + 256 * 1024 + int(frac * big)) // 4096 + 1) * 4096
        disk = c.mount_tmpfs(c.p(f"disk{i}"), str(tsize))
        out = disk / "out"
        c.run(["run", "pipe.toml", "--out", out], expect=0, outdirs=[out], label=f"small{i}")
        if not (out / "manifest.json").is_file():
            c.fail(f"[small{i}] the small first run did not fit a {tsize // 1024} KiB disk")
            continue
        free0 = os.statvfs(disk).f_bfree
        msg = (DISK_MSG_WORDS + r".*?" + re.escape(str(disk)) + r"|" + re.escape(str(disk))
               + r".*?" + DISK_MSG_WORDS)
        c.run(["run", "pipe-big.toml", "--out", out], expect=1, msg=msg, outdirs=[out],
              label=f"big{i}@{int(frac * 100)}%")
        extra = sorted(set(os.listdir(disk)) - {"out", ".out.lock"})
        if extra:
            c.fail(f"[big{i}] left on the full disk: " + ", ".join(extra))
        free1 = os.statvfs(disk).f_bfree
        if free1 < free0 - 4:
            c.fail(f"[big{i}] {(free0 - free1) * os.statvfs(disk).f_frsize // 1024} KiB of the disk not released")
        c.bat.umount(disk)
        c.mounts.remove(disk)


# --------------------------------------------------------------------------------------------
# Case 7: a second run while the lock is held
# --------------------------------------------------------------------------------------------

LOCK_MSG = r"lock|another run|already running|in use|заключ|друго изпълнение"


@case("lock_held", "lock")
def _(c):
    out = std(c)
    previous_output(c, out)
    lock = c.p(".out.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass
        c.run(["run", "pipe.toml", "--out", out], expect=1, msg=LOCK_MSG, outdirs=[out],
              allow=[lock], label="locked")
    finally:
        os.close(fd)
    c.run(["run", "pipe.toml", "--out", out], expect=0, outdirs=[out], label="after")


def lock_held_in_proc(path):
    try:
        ino = os.stat(path).st_ino
    except FileNotFoundError:
        return False
    try:
        with open("/proc/locks") as f:
            for line in f:
                parts = line.split()
                for t in parts:
                    if t.count(":") == 2 and t.rsplit(":", 1)[1] == str(ino):
                        return True
    except OSError:
        return False
    return False


@case("lock_concurrent_run", "lock")
def _(c):
    out = std(c)
    previous_output(c, out)
    rng = random.Random(9)
    block = big_rows_block(c, 3000, 9)
    c.p("data/a").mkdir(parents=True)
    write_repeated(c.p("data/a/a.csv"), plain_line(LAYOUT).encode(), block, 150 * MB)
    c.write("pipe-a.toml", pipeline_text("hostile", "keys/k.key",
                                         [source("a", "data/a/*.csv", delimiter=";")]))
    lock = c.p(".out.lock")
    ha = c.start(["run", "pipe-a.toml", "--out", out], expect={0, 3}, outdirs=[out], label="A",
                 mem_limit=None, timeout=300)
    seen = False
    t0 = time.monotonic()
    while ha.running() and time.monotonic() - t0 < 60:
        # Held, and its holder written: a run takes the lock first and then writes who holds
        # it, so a lock seen in between would change under B and be blamed on B.
        if lock_held_in_proc(lock) and os.path.getsize(lock) > 0:
            seen = True
            break
        time.sleep(0.005)
    if not seen:
        c.finish(ha)
        if os.path.exists(lock):
            c.fail("run A never held a lock on .out.lock (not in /proc/locks)")
        else:
            c.fail("run A created no .out.lock beside the output folder")
        return
    # Run A may finish, and replace the folder, while B runs: the folder is checked when A
    # is done (its outdirs), not around B.
    rb = c.run(["run", "pipe.toml", "--out", out], expect=1, msg=LOCK_MSG, outdirs=[], label="B",
               staging=False, allow_prefix=[c.p(".out.staging-")])
    c.finish(ha)
    _ = rb


@case("kill9_mid_run", "lock")
def _(c):
    """kill -9 while a run writes: previous outputs whole; the next run clears the leftovers."""
    out = std(c)
    previous_output(c, out)
    c.p("data/a").mkdir(parents=True)
    write_repeated(c.p("data/a/a.csv"), plain_line(LAYOUT).encode(), big_rows_block(c, 3000, 10), 150 * MB)
    c.write("pipe-a.toml", pipeline_text("hostile", "keys/k.key",
                                         [source("a", "data/a/*.csv", delimiter=";")]))
    h = c.start(["run", "pipe-a.toml", "--out", out], expect=set(), outdirs=[out], label="killed",
                staging=False, killed_ok=True, mem_limit=None, timeout=300)
    t0 = time.monotonic()
    seen = False
    while h.running() and time.monotonic() - t0 < 60:
        if any(n.startswith(".out.staging") for n in os.listdir(c.work)):
            seen = True
            break
        time.sleep(0.005)
    time.sleep(0.15)
    if h.running():
        os.killpg(h.proc.pid, signal.SIGKILL)  # the helper we started and its child
    rr = c.finish(h)
    if not rr.signal:
        c.notes.append(f"the run ended (exit {rr.code}) before it could be killed")
    if not seen:
        c.notes.append("no staging folder was seen before the kill")
    c.run(["run", "pipe.toml", "--out", out], expect=0, outdirs=[out], label="next",
          allow_prefix=[c.p(".out.staging-")])  # the killed run's leftovers are the program's


# --------------------------------------------------------------------------------------------
# Cases 8: what real offices produce
# --------------------------------------------------------------------------------------------

def hostile_file(c: Case, filename, content: bytes, *, expect, msg=None, enc="utf-8", delim=",",
                 glob="*.csv", with_good=True):
    if with_good:
        c.good_csv(n=300)
    c.write(f"data/bad/{filename}", content)
    srcs = ([source("good", "data/good/*.csv")] if with_good else [])
    srcs.append(source("bad", f"data/bad/{glob}", encoding=enc, delimiter=delim))
    c.pipeline(srcs)
    out = c.p("out")
    if expect == 1:  # a whole-file error names the file (SPEC 2)
        msg = names_file(filename, msg)
    c.run(["run", "pipe.toml", "--out", out], expect=expect, msg=msg, outdirs=[out])
    c.run(["run", "pipe.toml", "--out", out, "--log-format", "json"], expect=expect, msg=msg,
          outdirs=[out], label="json")
    return out


def names_file(filename, msg=None):
    """A regex: the text names filename and (if given) matches msg too."""
    rx = rf"^(?=[\s\S]*{re.escape(filename)})"
    return rx + (rf"(?=[\s\S]*(?:{msg}))" if msg else "")


def rows_text(c, n=200, seed=12, **kw):
    return csv_text(LAYOUT, make_rows(random.Random(seed), c.bat.people, n), **kw)


@case("pdf_renamed_csv", "files")
def _(c):
    pdf = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
           b"2 0 obj\n<< /Length 300 /Filter /FlateDecode >>\nstream\n" + os.urandom(3000)
           + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    hostile_file(c, "export.csv", pdf, expect=1, msg=r"pdf")


@case("docx_zip_renamed_csv", "files")
def _(c):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", f"<w:document><w:body><w:t>{c.bat.people[2].name}</w:t></w:body></w:document>")
    hostile_file(c, "export.csv", buf.getvalue(), expect=1, msg=r"zip")


@case("broken_xlsx", "files")
def _(c):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook><sheets><sheet name="Случаи" sheetId="1" r:id="rId1"')
        z.writestr("xl/worksheets/sheet1.xml", f"<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>{c.bat.people[3].name}")
    hostile_file(c, "export.xlsx", buf.getvalue(), expect=1, glob="*.xlsx")


def xlsx_bytes(rows, sheet="Случаи"):
    """A minimal, valid .xlsx (inline strings) holding rows of text."""
    def ref(ci, ri):
        s = ""
        ci += 1
        while ci:
            ci, r = divmod(ci - 1, 26)
            s = chr(65 + r) + s
        return f"{s}{ri}"
    xml_rows = []
    for ri, row in enumerate(rows, 1):
        cells = "".join(f'<c r="{ref(ci, ri)}" t="inlineStr"><is><t xml:space="preserve">{html.escape(v)}</t></is></c>'
                        for ci, v in enumerate(row) if v != "")
        xml_rows.append(f'<row r="{ri}">{cells}</row>')
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="{ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{ns}/spreadsheetml/2006/main"><sheetData>{"".join(xml_rows)}</sheetData></worksheet>',
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, t in parts.items():
            z.writestr(n, t)
    return buf.getvalue()


@case("xlsx_name_as_outcome", "files")
def _(c):
    # a real workbook (SPEC 2: recognized by content) with the name column mapped as outcome
    rows = [LAYOUT] + make_rows(random.Random(26), c.bat.people[:300], 3000)
    c.good_csv(n=300)
    c.write("data/bad/export.xlsx", xlsx_bytes(rows))
    cols = dict(GOOD_COLUMNS, outcome="Име на детето")
    c.pipeline([source("good", "data/good/*.csv"), source("bad", "data/bad/*.xlsx", columns=cols)])
    out = c.p("out")
    c.run(["run", "pipe.toml", "--out", out], expect=3, outdirs=[out])
    c.run(["check", "pipe.toml"], expect={0, 3}, label="check")


@case("html_saved_as_xls", "files")
def _(c):
    cells = "".join(f"<td>{h}</td>" for h in LAYOUT)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>"
                   for r in make_rows(random.Random(13), c.bat.people, 50))
    page = (f'<html><head><meta charset="utf-8"><title>Справка</title></head><body><table><tr>{cells}</tr>'
            f"{body}</table></body></html>")
    hostile_file(c, "export.xls", page.encode(), expect=1, glob="*.xls")


@case("gzip_renamed_csv", "files")
def _(c):
    hostile_file(c, "export.csv", gzip.compress(rows_text(c).encode()), expect=1,
                 msg=r"gzip|compress|archive|binary|not (a )?text|looks like")


@case("random_binary", "files")
def _(c):
    hostile_file(c, "export.csv", random.Random(1).randbytes(300000), expect=1)


@case("empty_file", "files")
def _(c):
    hostile_file(c, "export.csv", b"", expect=1, msg=r"empty|header|празен")


@case("blank_lines_only", "files")
def _(c):
    hostile_file(c, "export.csv", b"\n\r\n   \n\t\n\n", expect=1)


@case("header_only", "files")
def _(c):
    out = hostile_file(c, "export.csv", (",".join(LAYOUT) + "\r\n").encode(), expect={0, 1})
    cnt = c.file_counts(out, "export.csv")
    if cnt and cnt[0] != 0:
        c.fail(f"rows_read {cnt[0]} for a header-only file")


@case("nul_bytes_in_rows", "files")
def _(c):
    rows = make_rows(random.Random(14), c.bat.people, 300)
    for i in range(0, 300, 7):
        rows[i][COL["Име на детето"]] = rows[i][COL["Име на детето"]].replace(" ", "\x00", 1)
    for i in range(3, 300, 50):
        rows[i][COL["Дата на откриване"]] = "\x00\x00" + rows[i][COL["Дата на откриване"]]
    out = hostile_file(c, "export.csv", csv_text(LAYOUT, rows).encode(), expect={0, 3})
    cnt = c.file_counts(out, "export.csv")
    if cnt and cnt[0] != 300:
        c.fail(f"rows_read {cnt[0]}, expected 300")


@case("nul_filled_file", "files")
def _(c):
    hostile_file(c, "export.csv", b"\x00" * MB, expect=1)


@case("extremely_long_header", "files")
def _(c):
    extra = [f"Колона {i}" for i in range(200000)]
    header = extra + LAYOUT
    rows = make_rows(random.Random(15), c.bat.people, 40)
    text = ",".join(header) + "\n" + "".join("," * len(extra) + csv_text(None, [r]) for r in rows)
    hostile_file(c, "export.csv", text.encode(), expect={0, 1, 3})


@case("utf16_bom_tab_crlf", "files")
def _(c):
    text = rows_text(c, 300, delim="\t", eol="\r\n")
    out = hostile_file(c, "export.csv", b"\xff\xfe" + text.encode("utf-16-le"), expect=0,
                       enc="auto", delim="\t")
    cnt = c.file_counts(out, "export.csv")
    if cnt and cnt[0] != 300:
        c.fail(f"rows_read {cnt[0]}, expected 300")


@case("utf16_declared_utf16", "files")
def _(c):
    text = rows_text(c, 200, delim="\t", eol="\r\n")
    hostile_file(c, "export.csv", b"\xff\xfe" + text.encode("utf-16-le"), expect=0, enc="utf-16", delim="\t")


@case("utf16_without_bom", "files")
def _(c):
    text = rows_text(c, 200, delim="\t", eol="\r\n")
    hostile_file(c, "export.csv", text.encode("utf-16-le"), expect={0, 1, 3}, enc="auto", delim="\t")


@case("cr_only_line_ends_cp1251", "files")
def _(c):
    rows = make_rows(random.Random(16), c.bat.people, 250)
    for r in rows:
        r[-1] = r[-1].replace("\n", " ")
    text = csv_text(LAYOUT, rows, delim=";", eol="\r")
    out = hostile_file(c, "export.csv", text.encode("cp1251"), expect=0, enc="windows-1251", delim=";")
    cnt = c.file_counts(out, "export.csv")
    if cnt and cnt[0] != 250:
        c.fail(f"rows_read {cnt[0]}, expected 250")


@case("cp1251_declared_utf8", "files")
def _(c):
    text = rows_text(c, 200, delim=";")
    hostile_file(c, "export.csv", text.encode("cp1251"), expect={1, 3}, delim=";")


@case("duplicate_header_unmapped", "files")
def _(c):
    header = LAYOUT + ["Бележки"]
    rows = [r + [r[-1]] for r in make_rows(random.Random(17), c.bat.people, 200)]
    hostile_file(c, "export.csv", csv_text(header, rows).encode(), expect=0)


@case("duplicate_header_mapped", "files")
def _(c):
    header = LAYOUT + ["Дата на откриване"]
    rows = [r + ["01.01.2016"] for r in make_rows(random.Random(18), c.bat.people, 200)]
    hostile_file(c, "export.csv", csv_text(header, rows).encode(), expect={0, 1},
                 msg=None)


@case("bom_in_the_middle_concatenated", "files")
def _(c):
    a = "\ufeff" + rows_text(c, 150, seed=19)
    b = "\ufeff" + rows_text(c, 150, seed=20)
    out = hostile_file(c, "export.csv", (a + b).encode(), expect={0, 3})
    cnt = c.file_counts(out, "export.csv")
    if cnt and cnt[0] not in (300, 301):
        c.fail(f"rows_read {cnt[0]}, expected 300 or 301")


@case("bom_inside_a_label", "files")
def _(c):
    rows = make_rows(random.Random(21), c.bat.people, 200)
    for r in rows[::3]:
        r[COL["Вид на случая"]] = "\ufeff" + r[COL["Вид на случая"]]
    hostile_file(c, "export.csv", csv_text(LAYOUT, rows).encode(), expect={0, 3})


@case("truncated_inside_quote", "files")
def _(c):
    text = rows_text(c, 200, seed=22)
    cut = text.rfind('"') - 5  # inside the last quoted field
    out = hostile_file(c, "export.csv", text[:cut].encode(), expect={0, 3})
    cnt = c.file_counts(out, "export.csv")
    if cnt and not (190 <= cnt[0] <= 200):
        c.fail(f"rows_read {cnt[0]}, expected about 200")


@case("ragged_rows", "files")
def _(c):
    rows = make_rows(random.Random(23), c.bat.people, 200)
    for i, r in enumerate(rows):
        if i % 5 == 0:
            del r[-3:]
        elif i % 5 == 1:
            r += ["лишно", "още"]
    hostile_file(c, "export.csv", csv_text(LAYOUT, rows).encode(), expect={0, 3})


@case("excel_owner_file_in_glob", "files")
def _(c):
    c.write("data/bad/export.csv", rows_text(c, 200, seed=24))
    hostile_file(c, "~$export.csv", b"\x0dAdministrator" + b" " * 40 + b"\x00" * 100, expect={0, 1})


@case("folder_matching_glob", "files")
def _(c):
    c.write("data/bad/2024.csv/readme.txt", "not an export\n")
    hostile_file(c, "export.csv", rows_text(c, 100, seed=25).encode(), expect={0, 1})


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--only", help="comma-separated case names or shell patterns (e.g. 'map_*,disk_full')")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (big files included)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--tmp", help="where to make the temporary folder (default: the system's)")
    a = ap.parse_args()
    if a.list:
        for name, _, group in CASES:
            print(f"{group:10} {name}")
        return 0
    if not a.binary or not os.access(a.binary, os.X_OK):
        ap.error("BINARY must be an executable outcomes binary")
    selected = CASES
    if a.only:
        pats = [s.strip() for s in a.only.split(",") if s.strip()]
        selected = [cs for cs in CASES if any(fnmatch.fnmatchcase(cs[0], p) for p in pats)]
        unknown = [p for p in pats if not any(fnmatch.fnmatchcase(n, p) for n, _, _ in CASES)]
        if unknown:
            ap.error("unknown case(s): " + ", ".join(unknown))
    bat = Battery(a.binary, a.keep, a.tmp)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0, "XFAIL": 0, "XPASS": 0}
    t0 = time.monotonic()
    try:
        bat.setup_key()
        for name, fn, _ in selected:
            c = Case(bat, name)
            tc = time.monotonic()
            status, detail = "PASS", ""
            try:
                fn(c)
                if c.failures:
                    status, detail = "FAIL", "; ".join(c.failures)
            except Skip as e:
                status, detail = ("FAIL", "; ".join(c.failures)) if c.failures else ("SKIP", str(e))
            except KeyboardInterrupt:
                raise
            except Exception as e:
                status = "FAIL"
                detail = "; ".join(c.failures + [f"battery error: {type(e).__name__}: {e}"])
                traceback.print_exc(file=sys.stderr)
            finally:
                c.cleanup()
                if not a.keep and not c.mounts and not bat.mounted_under_base():
                    force_rmtree(c.dir)
            if name in PENDING and status == "FAIL" and c.failures and all(
                    EXPECTATION_ONLY.match(f) for f in c.failures):
                status, detail = "XFAIL", f"{PENDING[name]}: {detail}"
            elif name in PENDING and status == "PASS":
                status, detail = "XPASS", f"passes now: take it off PENDING ({PENDING[name]})"
            counts[status] += 1
            info = f"({time.monotonic() - tc:.1f}s, peak {c.peak_kb // 1024} MiB)"
            line = f"{status} {name} {info}"
            if detail:
                line += ": " + detail
            if c.notes:
                line += " [" + "; ".join(c.notes) + "]"
            print(line, flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        counts["FAIL"] += 1
    finally:
        bat.cleanup()
    print(f"{len(selected)} cases: {counts['PASS']} pass, {counts['FAIL']} fail, {counts['SKIP']} skip, "
          f"{counts['XFAIL']} pending (xfail), {counts['XPASS']} pending but passing "
          f"in {time.monotonic() - t0:.0f}s")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
