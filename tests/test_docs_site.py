"""The built site as a reader sees it: tables that fit, every name linked, figures that open.

The site is built once for the module with warnings as errors, incrementally into
`docs/_build/html` (what `.ci/run` builds just before the tests, so there it is quick); set
`JAXSCHED_DOCS_SITE` to check a site built elsewhere (BUILD_NOTES.md records these checks
failing on the site before issue 21). The layout check measures the pages in headless
Chromium at 1280 px; it is skipped where there is no `chromium`, except when
`JAXSCHED_REQUIRE_BROWSER=1` (as `.ci/run` sets), where that is a failure.
"""

from __future__ import annotations

import html
import html.parser
import os
import pathlib
import re
import subprocess
import sys

import pytest

import jaxsched

ROOT = pathlib.Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "docs" / "_tools"))
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import browser  # noqa: E402
import catalogue  # noqa: E402
import offline_inventories  # noqa: E402

WIDTH = 1280
# Pages of the theme and of Sphinx, not of this site's content.
NOT_CONTENT = {"genindex.html", "search.html", "py-modindex.html"}


@pytest.fixture(scope="module")
def site() -> pathlib.Path:
    given = os.environ.get("JAXSCHED_DOCS_SITE")
    if given:
        return pathlib.Path(given).resolve()
    out = ROOT / "docs" / "_build" / "html"
    build = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    done = subprocess.run([*build, "docs", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def pages(site: pathlib.Path) -> list[pathlib.Path]:
    """The content pages of the site."""
    return sorted(
        p
        for p in site.rglob("*.html")
        if p.name not in NOT_CONTENT and not p.relative_to(site).parts[0].startswith("_")
    )


class Elements(html.parser.HTMLParser):
    """Each element's tag, attributes and the attributes of its open ancestors."""

    VOID = frozenset({"img", "br", "hr", "meta", "link", "input", "source", "wbr", "col", "area"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.found: list[tuple[str, dict[str, str], list[tuple[str, dict[str, str]]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = (tag, {k: v or "" for k, v in attrs})
        self.found.append((*element, list(self.stack)))
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def elements(path: pathlib.Path) -> list[tuple[str, dict[str, str], list]]:
    parser = Elements()
    parser.feed(path.read_text())
    return parser.found


def test_every_public_name_has_an_api_anchor(site: pathlib.Path) -> None:
    ids = {attrs.get("id") for _, attrs, _ in elements(site / "api.html")}
    missing = [n for n in jaxsched.__all__ if f"jaxsched.{n}" not in ids]
    assert not missing, f"no API anchor for {missing}"


def test_every_api_entry_has_a_source_link(site: pathlib.Path) -> None:
    found = elements(site / "api.html")
    entries = [a["id"] for tag, a, _ in found if tag == "dt" and a.get("id", "") in _anchors()]
    linked = {
        a["href"].split("#")[1]
        for tag, a, _ in found
        if tag == "a" and "_modules/" in a.get("href", "") and "#" in a["href"]
    }
    assert entries, "no API entries"
    without = [e for e in entries if e.removeprefix("jaxsched.") not in linked]
    assert not without, f"no [source] link for {without}"


def _anchors() -> set[str]:
    return {f"jaxsched.{n}" for n in jaxsched.__all__}


def test_schedule_parameters_say_what_they_accept(site: pathlib.Path) -> None:
    text = (site / "api.html").read_text()
    assert "(<em>Any</em>)" not in _entry(text, "jaxsched.cosine_decay")
    untyped = [n for n in _constructors() if "<em>Any</em>" in _entry(text, f"jaxsched.{n}")]
    assert not untyped, f"parameters typed Any in {untyped}"


def _constructors() -> list[str]:
    return [
        n
        for n in jaxsched.__all__
        if isinstance(getattr(jaxsched, n), type)
        and issubclass(getattr(jaxsched, n), jaxsched.Schedule)
        and n != getattr(jaxsched, n).__name__
    ]


def _entry(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    end = page.find('<dt class="sig sig-object py"', start + 1)
    return page[start:end]


def test_the_api_links_to_jax_optax_and_flax(site: pathlib.Path) -> None:
    hrefs = {a.get("href", "") for p in pages(site) for tag, a, _ in elements(p) if tag == "a"}
    for base, entries in offline_inventories.INVENTORIES.values():
        for name, _, uri in entries:
            url = base + uri.replace("$", name)
            assert url in hrefs, f"{url} is in an inventory but no page links to it"


def test_every_image_links_to_its_full_size(site: pathlib.Path) -> None:
    unlinked = []
    for page in pages(site):
        for tag, attrs, ancestors in elements(page):
            if tag != "img" or not any(t == "article" for t, _ in ancestors):
                continue
            links = [a.get("href", "") for t, a in ancestors if t == "a"]
            if not any(_same_file(page, href, attrs.get("src", "")) for href in links):
                unlinked.append(f"{page.relative_to(site)}: {attrs.get('src')}")
    assert not unlinked, "images not linked to their full size:\n" + "\n".join(unlinked)


def _same_file(page: pathlib.Path, href: str, src: str) -> bool:
    where = page.parent
    return (where / href).resolve() == (where / src).resolve()


def _table_rows(page: str) -> list[str]:
    """The first cell of each body row of the page's first table."""
    table = page[page.index("<table") : page.index("</table>")]
    body = table[table.index("<tbody") :]
    return re.findall(r"<tr[^>]*>\s*<td[^>]*>(.*?)</td>", body, flags=re.S)


def _figure_sections(page: str) -> list[str]:
    return re.findall(r'<section id="catalogue-(\w+)"', page)


def test_the_catalogue_links_every_row_and_figure_to_the_api(site: pathlib.Path) -> None:
    page = (site / "catalogue.html").read_text()
    for name, cell in zip(catalogue.table_names(), _table_rows(page), strict=True):
        assert f'href="api.html#jaxsched.{name}"' in cell, f"row {name}: {cell}"
    sections = re.split(r'<section id="catalogue-', page)[1:]
    assert sections, "no figure sections"
    for section in sections:
        name = section.split('"')[0]
        assert f'href="api.html#jaxsched.{name}"' in section.split("<section")[0], name


def test_the_catalogue_figures_follow_the_table(site: pathlib.Path) -> None:
    shown = _figure_sections((site / "catalogue.html").read_text())
    table = catalogue.table_names()
    assert shown[: len(table)] == table


def test_each_figure_shows_its_call_as_a_user_writes_it(site: pathlib.Path) -> None:
    page = (site / "catalogue.html").read_text()
    for section in re.split(r'<section id="catalogue-', page)[1:]:
        name = section.split('"')[0]
        code = re.sub(r"<[^>]+>", "", section.split("</pre>")[0].split("<pre>")[-1])
        code = html.unescape(code)
        assert f"jaxsched.{name}(" in code, f"{name}: {code}"
        assert not re.search(r"\d\.\d{5,}", code), f"{name}: {code}"  # factor=0.3333333333333333


def test_the_index_shows_install_quick_start_and_a_figure(site: pathlib.Path) -> None:
    page = html.unescape(re.sub(r"<[^>]+>", "", (site / "index.html").read_text()))
    for line in ("pip install .", "bash setup.sh", ".venv/bin/python -m pytest"):
        assert line in page, line
    assert any(t == "img" for t, _, anc in elements(site / "index.html") if _in_article(anc))


def _in_article(ancestors: list[tuple[str, dict[str, str]]]) -> bool:
    return any(tag == "article" for tag, _ in ancestors)


# Measured in the page: every table's box and its scrolling wrapper against the content
# column (`article`), and (where CODE) every code box against its own width.
LAYOUT = """(() => {
  const column = document.querySelector('article[role=main]').getBoundingClientRect();
  const wide = [];
  for (const table of document.querySelectorAll('article table')) {
    const box = table.getBoundingClientRect();
    const wrapper = table.closest('.table-wrapper') || table.parentElement;
    const scrolls = wrapper.scrollWidth > wrapper.clientWidth + 1;
    if (box.right > column.right + 8 || scrolls)
      wide.push({table: (table.textContent || '').trim().slice(0, 40),
                 width: Math.round(box.width), column: Math.round(column.width), scrolls});
  }
  if (CODE)
    for (const pre of document.querySelectorAll('article pre'))
      if (pre.scrollWidth > pre.clientWidth + 1)
        wide.push({code: pre.textContent.slice(0, 40), width: pre.scrollWidth});
  return wide;
})()"""
# Pages whose code boxes are this site's own and must fit too (the API's come from the
# docstrings, the results page's from the example READMEs' commands).
CODE_NOT_CHECKED = {"api.html", "results.html", "changelog.html"}


@pytest.mark.parametrize("width", [WIDTH, 1920])
def test_no_table_or_code_box_is_wider_than_the_content_column(
    site: pathlib.Path, width: int
) -> None:
    if browser.find_chromium() is None:
        if os.environ.get("JAXSCHED_REQUIRE_BROWSER") == "1":
            pytest.fail("JAXSCHED_REQUIRE_BROWSER=1 but there is no chromium")
        pytest.skip("no chromium: apt-get install chromium")
    too_wide = {}
    with browser.Browser(width=width) as chromium:
        for page in pages(site):
            chromium.open(page.as_uri())
            code = page.name not in CODE_NOT_CHECKED
            wide = chromium.evaluate(f"const CODE = {str(code).lower()}; {LAYOUT}")
            if wide:
                too_wide[str(page.relative_to(site))] = wide
    assert not too_wide, f"wider than the content column at {width} px: {too_wide}"
