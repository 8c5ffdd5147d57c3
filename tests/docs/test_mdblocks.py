"""The docs-blocks test's own parts: markers found, shown output matched only where it fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.mdblocks import Block, mismatch, parse


def page_of(folder: Path, text: str) -> list[Block]:
    """The blocks of a page with ``text``, written into ``folder``."""
    page = folder / "page.md"
    page.write_text(text, encoding="utf-8")
    return parse(page)


OUT = "collection day: 3,000 payers\n  paid 2,903, unpaid 97\nnotes\nBALANCED\n"


def test_exact_output_matches_and_a_changed_line_does_not() -> None:
    assert mismatch(OUT, OUT) is None
    why = mismatch(OUT.replace("97", "98"), OUT)
    assert why is not None and "unpaid 98" in why


def test_dots_omit_lines_and_nothing_else() -> None:
    assert mismatch("collection day: 3,000 payers\n...\nBALANCED\n", OUT) is None
    # without `...` the shown lines must follow each other and cover the whole output
    assert mismatch("collection day: 3,000 payers\nBALANCED\n", OUT) is not None
    assert mismatch("notes\n", OUT) is not None
    assert mismatch("...\nnotes\n...\n", OUT) is None


def test_placeholders_and_numbers_that_vary() -> None:
    assert mismatch("collection day: <n> payers\n...", OUT) is None
    assert mismatch("collection day: 2,000 payers\n...", OUT) is not None
    assert mismatch("collection day: 2,000 payers\n...", OUT, numbers_vary=True) is None
    assert mismatch("collection day: 2,000 people\n...", OUT, numbers_vary=True) is not None
    assert mismatch("collection day: 3,0…\n...", OUT) is None  # the rest of the line omitted


def test_markers_attach_to_the_next_block_and_output_follows_its_command(tmp_path: Path) -> None:
    sh, out, py = page_of(
        tmp_path,
        "<!-- docs-test: skip needs a terminal -->\n```sh\nfoo\n```\n\n```\nout\n```\n"
        "text\n\n```python\nx = 1\n```\n",
    )
    assert (sh.id, sh.marker("skip"), sh.lang) == ("page.md:2", "needs a terminal", "sh")
    assert out.follows is sh and out.markers == []
    assert py.follows is None and py.markers == [] and py.text == "x = 1\n"


def test_an_unmarked_block_that_is_not_run_fails(tmp_path: Path) -> None:
    from tests.docs.test_docs_blocks import test_block

    page = "Some text.\n\n```csv\na,b\n```\n\n```\nnot after a command\n```\n"
    for block in page_of(tmp_path, page):
        with pytest.raises(pytest.fail.Exception, match="neither run nor marked"):
            test_block(block, None)  # type: ignore[arg-type]  # never reaches a runner


def test_an_output_block_with_its_own_marker_still_follows_its_command(tmp_path: Path) -> None:
    # `output-of previous; numbers vary` sits between the command and its output
    py, out = page_of(
        tmp_path,
        "```python\nprint(1)\n```\n\n<!-- docs-test: output-of previous; numbers vary -->\n"
        "```\n1\n```\n",
    )
    assert out.follows is py and out.markers == ["output-of previous; numbers vary"]


def test_a_file_block_is_written_beside_the_blocks_that_run_with_it(tmp_path: Path) -> None:
    from tests.docs.test_docs_blocks import _page_files, _withs

    toml, sh = page_of(
        tmp_path,
        "<!-- docs-test: file paychannels.toml -->\n```toml\n[journal]\n```\n\n"
        "<!-- docs-test: with terminal-sim -->\n<!-- docs-test: with paychannels.toml -->\n"
        "```sh\npaychannels config check\n```\n",
    )
    assert toml.marker("file") == "paychannels.toml"
    assert _withs(sh) == ["terminal-sim", "paychannels.toml"]
    assert _page_files("docs/configuration.md")["paychannels.toml"].lang == "toml"
