"""Anchor for `npm run bench:mixed` (solve time): the same multiple-choice
allocation MILP solved by PuLP + CBC and by HiGHS native (highspy), both with
a relative and absolute MIP gap of 0.

Reads an instance JSON: {"groups": [{"sens": [...], "sensRaw": [...], "cost": {"size": [...],
"bops": [...]}}], "budgets": [{"kind": "size", "limit": L}], "repeats": R}
and prints one JSON line per solver: name, objective (Σ sensRaw of the
choice; the solvers minimise Σ sens, the same argmin), choice, best wall time in ms over R solves (model building
excluded, the solve call included).
"""
import json
import sys
import time


def objective(inst, choice):
    return sum(g["sensRaw"][c] for g, c in zip(inst["groups"], choice))


def solve_pulp(inst):
    import pulp

    best = None
    for _ in range(inst["repeats"]):
        prob = pulp.LpProblem("mixed", pulp.LpMinimize)
        x = [[pulp.LpVariable(f"x_{g}_{c}", cat="Binary") for c in range(len(gr["sens"]))] for g, gr in enumerate(inst["groups"])]
        prob += pulp.lpSum(gr["sens"][c] * x[g][c] for g, gr in enumerate(inst["groups"]) for c in range(len(gr["sens"])))
        for g, row in enumerate(x):
            prob += pulp.lpSum(row) == 1
        for b in inst["budgets"]:
            prob += pulp.lpSum(gr["cost"][b["kind"]][c] * x[g][c] for g, gr in enumerate(inst["groups"]) for c in range(len(gr["sens"]))) <= b["limit"]
        t0 = time.perf_counter()
        prob.solve(pulp.PULP_CBC_CMD(msg=False, gapRel=0, gapAbs=0))
        ms = (time.perf_counter() - t0) * 1000
        status = pulp.LpStatus[prob.status]
        choice = [max(range(len(row)), key=lambda c: row[c].value() or 0) for row in x]
        best = ms if best is None else min(best, ms)
    return {"name": f"PuLP {pulp.__version__} + CBC", "status": status, "objective": objective(inst, choice), "choice": choice, "ms": best}


def solve_highspy(inst):
    import highspy
    import numpy as np

    best = None
    for _ in range(inst["repeats"]):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.0)
        cols = []
        for gr in inst["groups"]:
            cols.append([h.addBinary(obj=s) for s in gr["sens"]])
        for row in cols:
            h.addRow(1.0, 1.0, len(row), np.array([v.index for v in row], dtype=np.int32), np.ones(len(row)))
        for b in inst["budgets"]:
            idx = [v.index for row in cols for v in row]
            val = [gr["cost"][b["kind"]][c] for gr in inst["groups"] for c in range(len(gr["sens"]))]
            h.addRow(-highspy.kHighsInf, b["limit"], len(idx), np.array(idx, dtype=np.int32), np.array(val, dtype=float))
        t0 = time.perf_counter()
        h.run()
        ms = (time.perf_counter() - t0) * 1000
        sol = h.getSolution().col_value
        choice = [max(range(len(row)), key=lambda c: sol[row[c].index]) for row in cols]
        status = h.modelStatusToString(h.getModelStatus())
        best = ms if best is None else min(best, ms)
    return {"name": f"highspy {highspy.Highs().version()}", "status": status, "objective": objective(inst, choice), "choice": choice, "ms": best}


def main():
    inst = json.load(open(sys.argv[1]))
    for solver in (solve_pulp, solve_highspy):
        try:
            print(json.dumps(solver(inst)), flush=True)
        except ImportError as e:
            print(json.dumps({"name": solver.__name__, "skipped": str(e)}), flush=True)


main()
