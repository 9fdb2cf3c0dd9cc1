"""Tag schemes for spans over tokens: IOB1, IOB2 (BIO) and IOBES, and conversions between them.

    tags_to_spans(["B-PER", "I-PER", "O"])          -> [("PER", 0, 2)]   (type, start, end exclusive)
    spans_to_tags([("PER", 0, 2)], 3, "iobes")       -> ["B-PER", "E-PER", "O"]
    convert_tags(tags, "iob1", "iob2")               any scheme to any other, through the spans

Pure Python: readers (``seqlab.data``) and metrics (``seqlab.metrics``) both use it, neither through the other.
"""

from __future__ import annotations

from collections.abc import Sequence

from seqlab.errors import SeqlabError

SCHEMES = ("iob1", "iob2", "iobes")


def _split_tag(tag: str) -> tuple[str, str]:
    """("B", "PER") for "B-PER", ("O", "") for "O"."""
    if tag == "O":
        return "O", ""
    prefix, sep, kind = tag.partition("-")
    if not sep or prefix not in ("B", "I", "E", "S"):
        raise SeqlabError(f"tag {tag!r} is not O or a B-/I-/E-/S- tag")
    return prefix, kind


def tags_to_spans(tags: Sequence[str], scheme: str = "iob2") -> list[tuple[str, int, int]]:
    """Entity spans (type, start, end exclusive) from tags in any scheme.

    IOB1 starts an entity at B-, or at an I- whose type differs from the previous tag's; IOB2 at B- (and,
    leniently, at a stray I-); IOBES at B- or S-.
    """
    _check_scheme(scheme)
    spans, start, kind = [], None, ""
    for i, tag in enumerate(tags):
        prefix, tag_kind = _split_tag(tag)
        begins = prefix in ("B", "S") or (prefix in ("I", "E") and (start is None or tag_kind != kind))
        if prefix == "O" or begins:
            if start is not None:
                spans.append((kind, start, i))
            start, kind = (i, tag_kind) if begins else (None, "")
        if prefix in ("E", "S") and scheme == "iobes":
            spans.append((kind, start, i + 1))
            start, kind = None, ""
    if start is not None:
        spans.append((kind, start, len(tags)))
    return spans


def spans_to_tags(spans: Sequence[tuple[str, int, int]], length: int, scheme: str = "iob2") -> list[str]:
    """Tags in ``scheme`` for non-overlapping spans (type, start, end exclusive)."""
    _check_scheme(scheme)
    tags = ["O"] * length
    previous_end, previous_kind = -1, ""
    for kind, start, end in sorted(spans, key=lambda s: s[1]):
        for i in range(start, end):
            tags[i] = f"I-{kind}"
        if scheme == "iob2" or (scheme == "iob1" and previous_end == start and previous_kind == kind):
            tags[start] = f"B-{kind}"  # IOB1 needs B- only between touching entities of one type
        elif scheme == "iobes":
            tags[start] = f"B-{kind}"
            tags[end - 1] = f"E-{kind}"
            if end - start == 1:
                tags[start] = f"S-{kind}"
        previous_end, previous_kind = end, kind
    return tags


def convert_tags(tags: Sequence[str], source: str, target: str) -> list[str]:
    """Re-write a tag sequence from one scheme to another, e.g. ``convert_tags(ner, "iob1", "iob2")``."""
    return spans_to_tags(tags_to_spans(tags, source), len(tags), target)


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
    return convert_tags(tags, "iob1", "iob2")


def iob2_to_iobes(tags: Sequence[str]) -> list[str]:
    return convert_tags(tags, "iob2", "iobes")


def iobes_to_iob2(tags: Sequence[str]) -> list[str]:
    return convert_tags(tags, "iobes", "iob2")


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise SeqlabError(f"unknown tag scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
