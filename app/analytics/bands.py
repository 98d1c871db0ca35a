"""Age bands for population figures: ages on a day, from a birth date."""

from dataclasses import dataclass
from datetime import date

from app.segmentation.catalog import Text


@dataclass(frozen=True)
class AgeBand:
    key: str
    until: int | None  # the oldest age in the band; None: no upper end


AGE_BANDS = (
    AgeBand("0-17", 17),
    AgeBand("18-64", 64),
    AgeBand("65-74", 74),
    AgeBand("75-84", 84),
    AgeBand("85+", None),
)
# A client without an identity code has no known birth date, and so no age.
UNKNOWN_AGE = "unknown"
BAND_KEYS = (*tuple(band.key for band in AGE_BANDS), UNKNOWN_AGE)


def born_by(day: date, age: int) -> date:
    """The latest birth date of someone `age` years old on `day` (29 Feb → 28 Feb)."""
    try:
        return day.replace(year=day.year - age)
    except ValueError:
        return day.replace(year=day.year - age, day=28)


def band_name(key: str) -> Text:
    if key == UNKNOWN_AGE:
        return {"fi": "Ikä ei tiedossa", "sv": "Ålder okänd", "en": "Age unknown"}
    span = key.replace("-", "–")
    return {"fi": f"{span} v", "sv": f"{span} år", "en": f"{span} years"}
