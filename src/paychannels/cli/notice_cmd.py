"""``paychannels notice --level county|township|village --roster R --db URL``: who has paid,
as lists to post — printable HTML and CSV, names and ID numbers masked, headings in Chinese
and Mongolian. One file pair per county, township or village (``--township``/``--village``
to make only some).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paychannels.cli.reconcile_inputs import add_inputs, county_time, reconcile_inputs

if TYPE_CHECKING:
    from paychannels.documents.notices import Notice

__all__ = ["LEVELS", "register"]

#: the values of ``paychannels.documents.notices.Level``, spelled out so that ``--help`` does not
#: load the notices (tests/unit/test_cli_startup.py checks the two agree)
LEVELS = ("county", "township", "village")


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``notice`` command."""
    p = sub.add_parser(
        "notice",
        help="public lists of who has paid (masked), per county, township or village",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--level", required=True, choices=LEVELS)
    add_inputs(p, default_db)
    p.add_argument("--out", type=Path, default=Path("notices"), help="folder (default ./notices)")
    p.add_argument("--county", default="", help="the county's name for the titles")
    p.add_argument("--township", help="only this township")
    p.add_argument("--village", help="only this village")
    p.add_argument(
        "--date", type=date.fromisoformat, help="date printed on the lists (the county's today)"
    )
    p.add_argument("--json", action="store_true", help="list the files as JSON")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from paychannels.documents.notices import Level, iter_notices, write_notices  # when it runs

    county = county_time(args)

    rec = reconcile_inputs(args, "reading the journal")
    made = [0, 0]  # lists, payers listed: counted as each list is written and let go

    def counted() -> Iterator[Notice]:
        for notice in iter_notices(
            rec, Level(args.level), county=args.county, township=args.township, village=args.village
        ):
            made[0] += 1
            made[1] += len(notice.lines)
            yield notice

    with rec:
        files = write_notices(counted(), args.out, on=args.date or county.today(), zone=args.zone)
    lists, listed = made
    if args.json:
        print(
            json.dumps(
                {"lists": lists, "payers": listed, "files": [str(f) for f in files]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(f"{lists} list(s), {listed:,} payers who have paid, in {args.out}/")
        for path in files:
            print(f"  {path.name}")
    return 0
