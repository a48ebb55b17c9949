"""The ``translate`` command: a justification machine-translated through the model endpoint, labelled and cached."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cli.models import TerminalProgress, add_endpoint_options, endpoint_config
from cli.output import emit, warn
from reviewer.progress import Cancelled

if TYPE_CHECKING:
    from cli.main import CommandGroups
    from reviewer.translation import Translation

EXIT_OK = 0
EXIT_INTERRUPTED = 130


def cmd_translate(args: argparse.Namespace) -> int:
    """Translate justifications with the configured model (a cached translation costs no call)."""
    from reviewer.translation import target_language, translate_in_workspace
    from reviewer.workspace import Workspace

    target = target_language(args.to)  # refused before anything is opened or sent
    with Workspace.open(args.workspace) as workspace:
        config = endpoint_config(args, workspace.root)
        try:
            done = translate_in_workspace(workspace, args.justification_id, target=target, config=config,
                                          progress=TerminalProgress())
        except (Cancelled, KeyboardInterrupt):
            warn("spec-review: cancelled; the translations received are kept in the cache.")
            return EXIT_INTERRUPTED
    emit({"translations": [t.to_json() for t in done]}, args.json, "\n\n".join(_human(t) for t in done))
    return EXIT_OK


def _human(translation: Translation) -> str:
    where = "from the cache" if translation.cached else "just now"
    return (f"justification {translation.justification_id}\n{translation.original}\n\n"
            f"{translation.label}, into {translation.target_language} ({where}):\n{translation.translation}")


def register(groups: CommandGroups) -> None:
    """Add ``translate`` to the command line."""
    p = groups.top.add_parser("translate", help="machine-translate a justification through the model endpoint "
                                                "(labelled as such; cached)")
    p.add_argument("workspace")
    p.add_argument("justification_id", nargs="+", help="the justification (ids as `evidence` prints them)")
    p.add_argument("--to", metavar="LANG",
                   help="the language to translate into (default: SPEC_REVIEW_TRANSLATE_TO, else English)")
    add_endpoint_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_translate)
