#!/usr/bin/env python3
"""Generates the sample consent export and campaign list (deterministic).

The numbers are fictional: German mobile ranges 0171 39200xx and
0176 040690xx, Austrian 0664 39200xx. No real people.
Run: python3 sample-data/gen/make_sample.py
"""
import random
from pathlib import Path

random.seed(42)
out = Path(__file__).resolve().parent.parent

first = ["Anna", "Jürgen", "Sören", "Lea", "Björn", "Mia", "Jörg", "Ulrike", "Käthe", "Günther",
         "Zoë", "Lukas", "Hannah", "Moritz", "Jana", "Tobias", "Chloé", "Emil", "Frieda", "Paul",
         "Sophie", "Max", "Elif", "Mehmet", "Agnieszka", "Renée", "Ole", "Marie", "Fynn", "Clara"]
topics_all = ["sale", "new-collection", "events"]
sources = ["web-form:shop.example/newsletter", "kasse:filiale-leipzig", "web-form:shop.example/checkout",
           "gewinnspiel:herbst-2026", "whatsapp:inbound-optin"]
methods = ["link", "reply", "button", "Link", "code"]

def fmt_number(kind, i, style):
    if kind == "de171":
        local, intl = f"0171 39200{i:02d}", f"171 39200{i:02d}"
    elif kind == "de176":
        local, intl = f"0176 040690{i:02d}", f"176 040690{i:02d}"
    else:
        return [f"+43 664 39200{i:02d}", f"0043 664 39200{i:02d}"][style % 2]
    styles = [local, "+49 " + intl, "0049 " + intl, "+49 (0) " + intl,
              local.replace(" ", ""), local.replace(" ", "/"), "+49-" + intl.replace(" ", "-")]
    return styles[style % len(styles)]

def ddmm(day, month, year=2026, hour=None):
    s = f"{day:02d}.{month:02d}.{year}"
    return s if hour is None else f"{s} {hour:02d}:{random.randint(0,59):02d}"

rows = []
numbers = [("de171", i) for i in range(100)] + [("de176", i) for i in range(80)] + [("at664", i) for i in range(12)]
for n, (kind, i) in enumerate(numbers):
    month = random.randint(1, 10)
    day = random.randint(1, 27)
    opted = ddmm(day, month, hour=random.randint(8, 21)) if n % 3 else f"2026-{month:02d}-{day:02d}T{random.randint(8,21):02d}:15:00+02:00"
    status = "confirmed"
    r = random.random()
    if r < 0.10:
        status = "pending"
    elif r < 0.17:
        status = "revoked"
    confirmed = "" if status == "pending" else ddmm(min(day + 1, 28), month, hour=random.randint(8, 22))
    method = "" if status == "pending" else random.choice(methods)
    revoked = ddmm(min(day + 1, 20), min(month + 1, 11)) if status == "revoked" else ""
    k = random.choice([1, 1, 2, 3])
    topics = "|".join(sorted(random.sample(topics_all, k), key=topics_all.index))
    if n < 120 and "sale" not in topics:
        topics = "sale|" + topics if random.random() < 0.7 else topics
    name = random.choice(first) if random.random() > 0.08 else ""
    locale = "de_AT" if kind == "at664" else random.choice(["de", "de", "de", "", "en"])
    rows.append([fmt_number(kind, i, n), name, opted, random.choice(sources), confirmed, method,
                 topics, locale, random.choice(["v2-2025-11", "v3-2026-04"]), revoked,
                 f"K-{10000 + n}", ""])

# Notes with the delimiter and a line break inside quotes (Excel exports them).
rows[3][11] = "Rückruf erwünscht; nur abends"
rows[4][11] = "Kundin seit 2019\nStammkundin"
# Invalid numbers and other rejects, each with a clear reason.
rows.append(["12345", "Kurt", ddmm(3, 5), sources[0], ddmm(4, 5), "link", "sale", "de", "v3-2026-04", "", "K-20001", ""])
rows.append(["0171-234567", "Olga", ddmm(3, 5), sources[0], ddmm(4, 5), "link", "sale", "de", "v3-2026-04", "", "K-20002", ""])
rows.append(["keine Angabe", "Rita", ddmm(3, 5), sources[1], "", "", "events", "de", "", "", "K-20003", ""])
rows.append(["0171 3920099", "Timo", ddmm(3, 12, 2030), sources[0], "", "", "sale", "de", "", "", "K-20004", ""])
rows.append(["0176 04069099", "Ines", ddmm(10, 6), sources[0], ddmm(9, 6), "link", "sale", "de", "", "", "K-20005", ""])
rows.append(["0176 04069098", "Nils", ddmm(10, 6), sources[0], ddmm(11, 6), "link", "newsletter", "de", "", "", "K-20006", ""])
rows.append(["0176 04069097", "Vera", "", sources[0], "", "", "sale", "de", "", "", "K-20007", ""])
# Duplicates in other formats: a later confirmation and a later revocation.
rows.append(["+49 171 3920010", "Anna", "2026-01-05T10:00:00+01:00", sources[0], ddmm(20, 10), "reply", "sale", "de", "v3-2026-04", "", "K-20010", ""])
rows.append(["0049 171 3920011", "", ddmm(2, 2), sources[0], "", "", "sale", "de", "", ddmm(1, 11), "K-20011", ""])
rows.append(["01713920012", "Jürgen", ddmm(6, 6), sources[2], ddmm(7, 6), "link", "events", "de", "v3-2026-04", "", "K-20012", ""])

header = ["Telefon", "Vorname", "Einwilligung am", "Quelle", "Bestätigt am", "Bestätigungsart",
          "Themen", "Sprache", "Einwilligungstext", "Widerruf am", "Kundennummer", "Notiz"]

def cell(v):
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in ';"\n') else v

text = "\r\n".join(";".join(cell(v) for v in row) for row in [header] + rows) + "\r\n"
(out / "einwilligungen.csv").write_bytes(text.encode("cp1252"))

# The campaign list: part of the store, plus strangers, a duplicate, an invalid number.
lst = [["Telefon", "Name"]]
for kind, i in numbers[:60:2]:
    lst.append([fmt_number(kind, i, i + 1), ""])
lst.append(["0171 3920000", "doppelt"])
lst.append(["0171 3920098", "unbekannt"])
lst.append(["+49 176 04069095", "unbekannt"])
lst.append(["0171 23", "ungültig"])
(out / "kampagne-herbst.csv").write_text("\n".join(",".join(r) for r in lst) + "\n", encoding="utf-8")
print(f"{len(rows)} consent rows, {len(lst) - 1} list rows")
