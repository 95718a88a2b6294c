"""Where ``guestprobe report FILE --json`` spends its time: one process, CPU seconds per phase.

    python3 -m bench.report_phases                 # 1024 disks
    python3 -m bench.report_phases --disks 256

The report is built as bench.report_bench builds it (the mixed example's disks cloned). The
phases are the pipeline's own steps, called one after the other as ``pipeline.rejudge`` and the
command line call them: read the file, parse it within the limits, build the raw collection's
records, decode and classify, judge (the rules' contexts included), ``to_dict``, and
``json.dumps(indent=2)``. The cycle collector is set as ``guestprobe``'s entry point sets it.
Nothing is asserted; the figures of a run are in docs/performance.md.
"""

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.report_bench import ROOT, cloned_report, example_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disks", type=int, default=1024)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    report = cloned_report(example_report(), args.disks)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.json"
        path.write_text(json.dumps(report, indent=2), encoding="utf-8")
        del report
        gc.collect()
        gc.set_threshold(50_000, 20, 20)  # as guestprobe.cli.main does
        clock = time.process_time
        start = clock()
        from guestprobe import pipeline
        from guestprobe.check.rule_engine import judge_report
        from guestprobe.check.rules import load_rules
        from guestprobe.document.build import collection_from_document
        from guestprobe.document.inputs import load_json, read_input_file
        from guestprobe.report.output import to_json

        phases = [("imports", clock() - start)]

        def timed(name, step):
            began = clock()
            value = step()
            phases.append((name, clock() - began))
            return value

        data = timed("read", lambda: read_input_file(str(path)))
        document = timed("parse + limits", lambda: load_json(data, str(path)))
        collection = timed("collection records", lambda: collection_from_document(document))
        typed = timed("decode + classify", lambda: pipeline.report_of(collection, judged=False))
        rules = timed("load the rules", lambda: load_rules(None))
        timed("judge (contexts + rules)", lambda: judge_report(typed, rules))
        out = timed("to_dict", typed.to_dict)
        timed("json.dumps(indent=2)", lambda: to_json(out))
    print(f"python {sys.version.split()[0]}, {args.disks} disks, CPU seconds")
    for name, seconds in phases:
        print(f"  {name:<26} {seconds:6.3f}")
    print(f"  {'total':<26} {sum(s for _, s in phases):6.3f}")


if __name__ == "__main__":
    main()
