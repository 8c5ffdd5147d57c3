"""The docs-blocks test's own parts: markers found, shown output matched only where it fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.mdblocks import mismatch, parse

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
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- docs-test: skip needs a terminal -->\n```sh\nfoo\n```\n\n```\nout\n```\n"
        "text\n\n```python\nx = 1\n```\n",
        encoding="utf-8",
    )
    sh, out, py = parse(page)
    assert (sh.id, sh.marker("skip"), sh.lang) == ("page.md:2", "needs a terminal", "sh")
    assert out.follows is sh and out.markers == []
    assert py.follows is None and py.markers == [] and py.text == "x = 1\n"


def test_an_unmarked_block_that_is_not_run_fails(tmp_path: Path) -> None:
    from tests.docs.test_docs_blocks import test_block

    page = tmp_path / "page.md"
    page.write_text("Some text.\n\n```csv\na,b\n```\n\n```\nnot after a command\n```\n", "utf-8")
    for block in parse(page):
        with pytest.raises(pytest.fail.Exception, match="neither run nor marked"):
            test_block(block, None)  # type: ignore[arg-type]  # never reaches a runner
