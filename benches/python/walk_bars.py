"""A seeded random walk of one-minute bars: the same file on every machine.

    python3 benches/python/walk_bars.py COUNT OUT.csv

Shared by benches/sweep.sh and benches/sweep-nats.sh, so both measure the same data.
"""
import sys

count, path = int(sys.argv[1]), sys.argv[2]
state = 0x9E3779B97F4A7C15


def step():
    global state
    state ^= (state << 13) & 0xFFFFFFFFFFFFFFFF
    state ^= state >> 7
    state ^= (state << 17) & 0xFFFFFFFFFFFFFFFF
    return state % 21 - 10


def f(v):
    return f"{v // 100_000}.{v % 100_000:05d}"


price = 107_000
with open(path, "w") as out:
    out.write("time,open,high,low,close,volume\n")
    for i in range(count):
        o = price
        c = max(o + step(), 1_000)
        h = max(o, c) + abs(step())
        l = max(min(o, c) - abs(step()), 1)
        price = c
        out.write(f"{1492560000 + 60 * i},{f(o)},{f(h)},{f(l)},{f(c)},100\n")
