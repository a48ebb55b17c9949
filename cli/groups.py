"""The ``groups`` command: find the crowd's opinion groups (when stale) and show them, or one proposal's support per group."""

from __future__ import annotations

import argparse
from typing import Any

from cli.crowd import progress_for
from cli.output import emit, value_of

EXIT_OK = 0


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _groups_text(data: dict[str, Any]) -> str:
    from reviewer.groups import source_label

    run = data["run"]
    lines = [
        f"{run['k']} opinion groups in the {source_label(run['source'])}: {run['participants']} participants grouped"
        f" ({run['left_out']} left out with fewer than {run['params']['min_entries']} entries),"
        f" {run['items']} items, {run['entries']} entries",
        f"silhouette {run['silhouette']:.3f} (k tried: "
        + ", ".join(f"{k}: {v:.3f}" for k, v in sorted(run['detail'].get('silhouettes', {}).items())) + ")"
        + f"; seed {run['params']['seed']}; computed {run['created_at'][:16].replace('T', ' ')} by {run['created_by']}",
    ]
    if run["ari"] is not None:
        lines.append(f"adjusted Rand index against the export's own group-id: {run['ari']:.3f}"
                     f" (over {run['detail'].get('ari_compared')} participants)")
    if data.get("recomputed") is not None:
        lines.append(f"({data['recomputed']})")
    for group in data["groups"]:
        lines.append("")
        lines.append(f"Group {group['label']}: {group['size']} participants")
        for name, values in group["make_up"].items():
            shown = ", ".join(f"{v['value']} {_pct(v['share'])} (all {_pct(v['overall'])})" for v in values[:4])
            lines.append(f"  {name}: {shown}")
        if group["polis_groups"]:
            lines.append("  Pol.is group-id: " + ", ".join(f"{k}: {n}" for k, n in sorted(group["polis_groups"].items())))
        if group["distinctive"]:
            lines.append("  sets it apart:")
        for d in group["distinctive"]:
            says = " ".join(d["says"].split())
            says = says if len(says) <= 110 else says[:109] + "\u2026"
            lines.append(f"    {_pct(d['share_in'])} of the group vs {_pct(d['share_out'])} of the rest: {says}")
    return "\n".join(lines)


def _proposal_text(data: dict[str, Any]) -> str:
    from reviewer.groups import source_label

    lines = [f"Proposal {data['proposal_id']}"]
    figures = data["figures"]
    if figures is None:
        lines.append("No opinion groups were computed: run `spec-review groups WORKSPACE` first.")
    else:
        lines.append(
            f"opinion groups ({source_label(figures['source'])}): group-aware consensus {figures['consensus']:.4f},"
            f" bridging {_pct(figures['bridging'])} (lowest: group {figures['lowest']}),"
            f" {figures['divisiveness'] * 100:.0f} points apart"
            + ("; bridges" if figures["bridges"] else "") + ("; divisive" if figures["divisive"] else ""))
    for title, groups in (("opinion group", data["opinion"]),
                          *((name, groups) for name, groups in data["demographic"].items())):
        if not groups:
            continue
        lines.append(f"  by {title}:")
        for g in groups:
            interval = f" ({_pct(g['low'])}–{_pct(g['high'])})" if g["low"] is not None else ""
            mark = " clearly refutes" if g["clearly_refutes"] else " clearly supports" if g["clearly_supports"] else ""
            lines.append(f"    {g['group']:<24} size {g['size']:>6}  +{g['supports']} -{g['refutes']}"
                         f"  {_pct(g['share'])}{interval}{mark}")
    if data["ungrouped"]:
        lines.append(f"  {data['ungrouped']} supporting or refuting links are from participants in no opinion group.")
    return "\n".join(lines)


def cmd_groups(args: argparse.Namespace) -> int:
    """Find the crowd's opinion groups when stale, then show them (or one proposal's support per group)."""
    from reviewer import groups, operations
    from reviewer.workspace import Workspace

    params = groups.GroupParams(seed=args.seed, k_min=args.k_min, k_max=args.k_max, min_entries=args.min_entries)
    with Workspace.open(args.workspace) as workspace:
        if args.proposal:
            from reviewer.group_support import proposal_groups

            data = proposal_groups(workspace.store, args.proposal).to_json()
            emit(data, args.json, _proposal_text)
            return EXIT_OK
        source = args.source or groups.default_source(workspace.store)
        before = groups.freshness(workspace.store, source, params)
        run = value_of(operations.compute_groups(workspace, source, actor=args.by, params=params,
                                                 progress=progress_for(args), force=args.recompute))
        view = groups.groups_view(workspace.store, run)
    data = groups.view_json(view)
    data["recomputed"] = (f"computed now: {before.reason}" if before.run is None or before.run.id != run.id
                          else None)
    emit(data, args.json, _groups_text)
    return EXIT_OK


def register(command_groups: Any) -> None:
    """Add the ``groups`` command to the parser."""
    p = command_groups.top.add_parser(
        "groups", help="the crowd's opinion groups (PCA, then k-means; computed when stale) or a proposal's support per group")
    p.add_argument("workspace")
    p.add_argument("--source", choices=("ca1", "polis"),
                   help="find them in the CA-1 rankings or the Pol.is votes (default: CA-1 when there are rankings)")
    p.add_argument("--proposal", metavar="PROPOSAL_ID",
                   help="show this proposal's support per opinion group and demographic group, with consensus and"
                        " bridging (reads the stored groups)")
    p.add_argument("--recompute", action="store_true", help="compute again even when the stored groups are current")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0): the same seed, the same groups")
    p.add_argument("--k-min", type=int, default=2, help="fewest groups tried (default 2)")
    p.add_argument("--k-max", type=int, default=5, help="most groups tried (default 5)")
    p.add_argument("--min-entries", type=int, default=None,
                   help="fewest entries a participant needs to be grouped (default: 7 votes; 12 CA-1 pairs)")
    p.add_argument("--by", default="spec-review", metavar="NAME", help="who computes them, for the record")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_groups)
