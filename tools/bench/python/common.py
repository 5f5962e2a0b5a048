"""What every CPython baseline prints: one JSON line per figure, in the shape of the C++ programs'
(tools/bench/bench_common.hpp): median (statistics.median), min, max and the repetition count.
run.py refuses a full report with a figure of fewer than MIN_REPS repetitions."""
import json
import statistics

MIN_REPS = 5


def reps_for(quick):
    return 1 if quick else MIN_REPS


def report(workload, contender, unit, values):
    values = sorted(values)
    print(json.dumps({"workload": workload, "contender": contender, "unit": unit,
                      "median": statistics.median(values), "min": values[0], "max": values[-1],
                      "reps": len(values)}), flush=True)
