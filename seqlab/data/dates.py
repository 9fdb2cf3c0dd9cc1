"""Date normalisation, a sequence-to-sequence task generated offline.

Free-form dates in many surface forms and four languages map to ISO 8601:
    "the 4th of July 2019", "07/04/19", "Thursday, July 4, 2019", "4 Jul. '19",
    "jeudi 4 juillet 2019", "Donnerstag, 4. Juli 2019", "4 de julio de 2019"  ->  "2019-07-04"

Slashes are US order (month/day/year); dots are European order (day.month.year), so no
input is ambiguous. Two-digit years pivot at 50: '49 -> 2049, '50 -> 1950, which is why
dates are drawn from 1950-2049.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

FIRST_DAY = dt.date(1950, 1, 1)
N_DAYS = (dt.date(2049, 12, 31) - FIRST_DAY).days + 1

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
           "octubre", "noviembre", "diciembre"],
}
MONTHS_ABBR = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
    "de": ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."],
}
WEEKDAYS = {  # Monday first, as date.weekday()
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "de": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
}


def english_ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def french_day(day: int) -> str:
    return "1er" if day == 1 else str(day)


def _fields(d: dt.date) -> dict[str, str]:
    m = d.month - 1
    return {
        "d": str(d.day), "dd": f"{d.day:02d}", "m": str(d.month), "mm": f"{d.month:02d}",
        "Y": str(d.year), "yy": f"{d.year % 100:02d}", "ord": english_ordinal(d.day),
        "Month": MONTHS["en"][m], "Mon": MONTHS_ABBR["en"][m], "Weekday": WEEKDAYS["en"][d.weekday()],
        "mois": MONTHS["fr"][m], "mois_abr": MONTHS_ABBR["fr"][m], "jour": WEEKDAYS["fr"][d.weekday()],
        "jour_fr": french_day(d.day),
        "Monat": MONTHS["de"][m], "Monat_abk": MONTHS_ABBR["de"][m], "Tag": WEEKDAYS["de"][d.weekday()],
        "mes": MONTHS["es"][m], "dia": WEEKDAYS["es"][d.weekday()],
    }


FORMATS: dict[str, list[str]] = {
    "en": [
        "{d} {Month} {Y}", "{Month} {d}, {Y}", "{Weekday}, {Month} {d}, {Y}", "the {ord} of {Month} {Y}",
        "{ord} of {Month} {Y}", "{Month} {ord}, {Y}", "{d} {Mon}. '{yy}", "{Mon} {d} {Y}", "{dd} {Mon} {Y}",
        "{Weekday} {d} {Month} {Y}", "{mm}/{dd}/{yy}", "{m}/{d}/{Y}", "{mm}/{dd}/{Y}", "{Y}-{mm}-{dd}",
        "{Mon} {d}, '{yy}", "{Weekday}, {d} {Mon} {Y}",
    ],
    "fr": ["{jour_fr} {mois} {Y}", "le {jour_fr} {mois} {Y}", "{jour} {jour_fr} {mois} {Y}",
           "{d} {mois_abr} {Y}", "{dd}.{mm}.{Y}", "{jour} {d} {mois_abr} {Y}"],
    "de": ["{d}. {Monat} {Y}", "{Tag}, {d}. {Monat} {Y}", "am {d}. {Monat} {Y}", "{dd}.{mm}.{Y}",
           "{d}.{m}.{Y}", "{d}. {Monat_abk} {Y}", "{dd}.{mm}.{yy}"],
    "es": ["{d} de {mes} de {Y}", "{dia}, {d} de {mes} de {Y}", "el {d} de {mes} de {Y}"],
}


def surface_forms(d: dt.date) -> list[str]:
    """Every written form of a date that the task knows, across languages."""
    fields = _fields(d)
    return [fmt.format(**fields) for lang in FORMATS for fmt in FORMATS[lang]]


@functools.cache
def longest_source() -> int:
    """The longest surface form of any date: seven years cover every weekday/month/day combination."""
    return max(len(text) for offset in range(7 * 366) for text in surface_forms(FIRST_DAY + dt.timedelta(offset)))


@dataclass(frozen=True)
class DatePair:
    source: str  # a free-form date
    target: str  # ISO 8601


def random_pair(rng: random.Random) -> DatePair:
    """A random date in a random language, form and casing."""
    d = FIRST_DAY + dt.timedelta(days=rng.randrange(N_DAYS))
    lang = rng.choice(list(FORMATS))
    text = rng.choice(FORMATS[lang]).format(**_fields(d))
    casing: Callable[[str], str] = rng.choice([str, str, str, str.lower, str.upper])
    return DatePair(casing(text), d.isoformat())


def sample_pairs(n: int, seed: int, *, exclude: set[str] = frozenset()) -> list[DatePair]:
    """n distinct pairs whose (lower-cased) sources are not in ``exclude``."""
    rng = random.Random(seed)
    seen, pairs = set(exclude), []
    while len(pairs) < n:
        pair = random_pair(rng)
        key = pair.source.lower()
        if key not in seen:
            seen.add(key)
            pairs.append(pair)
    return pairs


def stream_pairs(seed: int, *, exclude: set[str]) -> Iterator[DatePair]:
    """An endless stream of training pairs that never shows a held-out source."""
    rng = random.Random(seed)
    while True:
        pair = random_pair(rng)
        if pair.source.lower() not in exclude:
            yield pair


def alphabet() -> list[str]:
    """Every string the generator can emit pieces of, for building a complete character vocabulary."""
    names = [w for table in (MONTHS, MONTHS_ABBR, WEEKDAYS) for words in table.values() for w in words]
    literals = [fmt for fmts in FORMATS.values() for fmt in fmts]
    return [*names, *[n.upper() for n in names], *literals, "0123456789", "stndrdthER"]
