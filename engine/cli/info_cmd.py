"""`facebridge info FILE`: what a restored file records about its restoration."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parsers(sub) -> None:
    p = sub.add_parser("info", help="print the provenance a restored file records (or say it has none)",
                       description="Print what FaceBridge recorded in a file it wrote: the IPTC Digital Source "
                       "Type, the software, the model and its SHA-256, steps, sampler, seed, the background "
                       "upscaler, the date and the restored regions. Exit 0 when a record is found, 1 when not.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the records as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..provenance import parse, read_file_xmp

    found, out = 0, {}
    for name in args.files:
        path = Path(name)
        try:
            record = parse(read_file_xmp(path))
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read ({exc})", file=sys.stderr)
            out[str(path)] = None
            continue
        out[str(path)] = record
        found += record is not None
        if not args.json:
            print(describe(path, record))
    if args.json:
        print(json.dumps(out, indent=2))
    return 0 if found == len(args.files) else 1


def describe(path: Path, record) -> str:
    if record is None:
        return f"{path}: no FaceBridge provenance (not restored by FaceBridge, written with --no-provenance, or " \
               "its metadata was stripped)"
    lines = [f"{path}: restored by {record.get('software', '?')} on {record.get('restoredAt', '?')}",
             f"  digital source type: {record.get('digitalSourceType') or '-'}",
             f"  model: {record.get('model', '?')} (SHA-256 {record.get('modelSHA256') or 'unknown'})",
             f"  steps {record.get('steps', '?')}, sampler {record.get('sampler', '?')}, seed {record.get('seed', '?')}",
             f"  background: {record.get('upscaler', 'none')}, x{record.get('upscale', '1')}"]
    for i, r in enumerate(record.get("regions", []), 1):
        ident = f", identity distance {r['identityDistance']:.3f}" if "identityDistance" in r else ""
        lines.append(f"  face {i}: x {r.get('x')}, y {r.get('y')}, {r.get('w')}x{r.get('h')} px{ident}")
    return "\n".join(lines)
