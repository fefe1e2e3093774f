"""Screenshots of the built site at 1280 px, for results/docs/ (issue 21).

    .venv/bin/python -m sphinx -W -b html docs docs/_build/html
    .venv/bin/python docs/_tools/screenshots.py --site docs/_build/html --out results/docs

Each shot is a page, optionally scrolled to an element, cut to a height; the PNGs are
reduced to a 256-colour palette (text and line art lose nothing visible, a third the size).
"""

from __future__ import annotations

import argparse
import base64
import io
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from browser import Browser

# name -> (page, a CSS selector of the element at the top or None for the page's top, height)
SHOTS: dict[str, tuple[str, str | None, int]] = {
    "index": ("index.html", None, 2000),
    "catalogue-table": ("catalogue.html", None, 2400),
    "catalogue-figures": ("catalogue.html", "#figures", 2400),
    "conventions-table": ("conventions.html", "#parity-and-where-conventions-differ", 2400),
    "guide-optax": ("guides/optax.html", None, 2100),
    "api": ("api.html", None, 2400),
    "api-cosine": ("api.html", "#cosine", 2400),
    "results": ("results.html", None, 2000),
    "results-study-figures": ("results.html", "img[src$='accuracy.png']", 1700),
}


def shoot(browser: Browser, url: str, anchor: str | None, height: int) -> bytes:
    browser.open(url)
    top = 0.0
    if anchor is not None:
        script = f"document.querySelector({anchor!r}).getBoundingClientRect().top + scrollY"
        top = max(0.0, float(browser.evaluate(script)) - 16)
    total = float(browser.evaluate("document.documentElement.scrollHeight"))
    clip = {"x": 0, "y": top, "width": browser.width, "height": min(height, total - top)}
    shot = browser.send(
        "Page.captureScreenshot",
        {"format": "png", "clip": {**clip, "scale": 1}, "captureBeyondViewport": True},
    )
    return base64.b64decode(shot["data"])


def to_palette(png: bytes) -> bytes:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256).save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=pathlib.Path, default=pathlib.Path("docs/_build/html"))
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("results/docs"))
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with Browser(width=args.width) as browser:
        for name, (page, anchor, height) in SHOTS.items():
            url = (args.site / page).resolve().as_uri()
            path = args.out / f"{name}-{args.width}px.png"
            path.write_bytes(to_palette(shoot(browser, url, anchor, height)))
            print(path)


if __name__ == "__main__":
    main()
