"""Timing shared by the side-by-side scripts: sides run in turn, round after round, so that a noisy
stretch of the machine lands on every side alike; each side is then given by its best and its
median, and two sides are compared by the ratio of their bests and the ratio of their medians.
"""
import statistics
import time

# Above this one-minute load average a measurement is said to be from a busy machine (2 vCPUs).
BUSY_LOAD = 1.5


def load_average():
    """The one-minute load average, as /proc/loadavg gives it."""
    with open("/proc/loadavg") as loadavg:
        return float(loadavg.read().split()[0])


def interleaved(rounds, sides):
    """{name: [seconds, ...]} for `sides` ({name: callable}) run in turn, round after round. A side
    that returns a float timed itself (a peer in another process, or a session that reports its
    own time); otherwise its whole call is timed."""
    times = {name: [] for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            started = time.perf_counter()
            own = side()
            elapsed = time.perf_counter() - started
            times[name].append(own if isinstance(own, float) else elapsed)
    return times


def best_and_median(values):
    """The best (smallest) and the median of a side's times."""
    return min(values), statistics.median(values)


def table(title, times, per=None, unit="bars/s"):
    """Prints each side's best and median time, and its rate for `per` units when given."""
    print(f"\n{title}")
    header = f"  {'side':<44} {'best':>10} {'median':>10}"
    if per:
        header += f" {unit + ' best':>14} {unit + ' median':>16}"
    print(header)
    for name, values in times.items():
        best, median = best_and_median(values)
        line = f"  {name:<44} {best * 1e3:>8.1f}ms {median * 1e3:>8.1f}ms"
        if per:
            line += f" {per / best:>14,.0f} {per / median:>16,.0f}"
        print(line)


def ratio(times, ours, theirs):
    """Prints how many times faster `ours` is than `theirs`, by bests and by medians; returns the
    ratio of bests."""
    our_best, our_median = best_and_median(times[ours])
    their_best, their_median = best_and_median(times[theirs])
    best, median = their_best / our_best, their_median / our_median
    print(f"  {ours} / {theirs}: {best:.2f}x (bests), {median:.2f}x (medians)")
    return best


def report_load(before):
    """Prints the load average before and after, and says so when either was a busy machine's."""
    after = load_average()
    print(f"\nload average: {before:.2f} before, {after:.2f} after")
    if max(before, after) > BUSY_LOAD:
        print(f"BUSY MACHINE: the load average was above {BUSY_LOAD}; these figures are not an idle machine's")
