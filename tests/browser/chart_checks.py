"""Checks of a rendered chart in Chromium: the size of its text and whether labels overlap."""

from __future__ import annotations

from typing import Any

MIN_TEXT_PX = 11
# Every visible text element of the SVG (Vega hides a label it drops with opacity 0): its
# rendered font size and its box on the screen.
TEXTS_JS = """
() => Array.from(document.querySelectorAll('svg text')).map((el) => {
  const box = el.getBoundingClientRect();
  return {
    text: el.textContent.trim(),
    size: parseFloat(getComputedStyle(el).fontSize),
    box: [box.left, box.top, box.right, box.bottom],
    visible: getComputedStyle(el).opacity !== '0',
  };
}).filter((item) => item.visible && item.text && item.box[2] > item.box[0])
"""


def svg_texts(page: Any, svg: str) -> list[dict[str, Any]]:
    """The texts of an SVG drawn at its own size in a page of its own."""
    page.set_content(f"<!doctype html><body style='margin:0'>{svg}</body>")
    return page.evaluate(TEXTS_JS)


def overlaps(texts: list[dict[str, Any]], tolerance: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap by more than `tolerance` px both ways."""
    found = []
    for i, first in enumerate(texts):
        for second in texts[i + 1 :]:
            a, b = first["box"], second["box"]
            width = min(a[2], b[2]) - max(a[0], b[0])
            height = min(a[3], b[3]) - max(a[1], b[1])
            if width > tolerance and height > tolerance:
                found.append((first["text"], second["text"]))
    return found


def too_small(texts: list[dict[str, Any]], scale: float) -> list[tuple[str, float]]:
    """Texts smaller than MIN_TEXT_PX once the picture is scaled by `scale` on the page."""
    return [(t["text"], t["size"] * scale) for t in texts if t["size"] * scale < MIN_TEXT_PX]
