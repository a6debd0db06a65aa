#!/usr/bin/env python3
"""Writes examples/pool-trace.csv: a synthetic usage trace for `airlock pool recommend|simulate`.

Four weeks (Monday 2026-10-05 00:00 UTC onward) of claims by the project `payments`, drawn as a
Poisson process whose rate is constant within each hour of the week:
  weekdays 09-12 UTC: 20 claims/h (the morning peak); 12-18: 12/h; 18-22: 3/h; otherwise 0.3/h;
  weekends 10-18: 1/h; otherwise 0.1/h.
Each claim holds its sandbox for an exponential time with a mean of 25 minutes (at least 30 s).
Deterministic (seed 5), so rerunning it reproduces the file byte for byte:  python3 examples/pool-trace.py
"""
import datetime
import random

START = datetime.datetime(2026, 10, 5, tzinfo=datetime.timezone.utc)  # a Monday
WEEKS = 4


def rate(weekday, hour):
    if weekday < 5:
        if 9 <= hour < 12:
            return 20
        if 12 <= hour < 18:
            return 12
        if 18 <= hour < 22:
            return 3
        return 0.3
    return 1 if 10 <= hour < 18 else 0.1


def main():
    rnd = random.Random(5)
    lines = []
    for h in range(WEEKS * 7 * 24):
        begin = START + datetime.timedelta(hours=h)
        lam = rate(begin.weekday(), begin.hour) / 3600.0
        t = rnd.expovariate(lam)
        while t < 3600:
            when = begin + datetime.timedelta(seconds=int(t))
            hold = max(30, int(rnd.expovariate(1 / 1500.0)))
            lines.append(f"{when.strftime('%Y-%m-%dT%H:%M:%SZ')},payments,{hold}")
            t += rnd.expovariate(lam)
    with open("examples/pool-trace.csv", "w") as f:
        f.write("# Synthetic usage trace, written by examples/pool-trace.py (see its docstring for the model).\n")
        f.write("# Four weeks of claims by project payments; times in UTC; durationSeconds = how long the claim held its sandbox.\n")
        f.write("time,project,durationSeconds\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
