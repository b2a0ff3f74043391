#!/usr/bin/env python3
"""
labdelay: emulated distance without sch_netem (this kernel has none). Runs in the hub
namespace and owns one TUN device per perspective (d<link index>). The hub routes a delayed
perspective's packets into its TUN device (ip rule iif h<N> lookup 200+N); this process holds
each packet for the perspective's delay and writes it back, so it re-enters the hub's routing
from d<N> and goes on to its destination (hijack rules included).
Usage: labdelay.py DELAYS_JSON NAME...   (DELAYS_JSON maps a device name to milliseconds and
is re-read when it changes, so delays switch at runtime).
"""
import fcntl
import heapq
import json
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_QUEUE = 20000  # packets held at once; beyond, new packets are dropped (like a full link)


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def read_delays(path, cache):
    """{device: seconds}, re-read only when the file's mtime changed."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return cache[1]
    if mtime != cache[0]:
        try:
            with open(path) as f:
                cache[:] = [mtime, {k: max(0.0, float(v)) / 1000.0
                                    for k, v in json.load(f).items()}]
        except (OSError, ValueError):
            pass
    return cache[1]


def main():
    path, names = sys.argv[1], sys.argv[2:]
    fds = {open_tun(n): n for n in names}
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    print(f"labdelay: {len(fds)} devices ready", flush=True)
    cache = [None, {}]
    queue = []  # (due, seq, fd, packet)
    seq = 0
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, fd, pkt = heapq.heappop(queue)
            try:
                os.write(fd, pkt)
            except OSError:
                pass
        timeout = min(0.1, max(0.0, queue[0][0] - now)) if queue else 0.1
        ready, _, _ = select.select(list(fds), [], [], timeout)
        delays = read_delays(path, cache)
        for fd in ready:
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if len(queue) < MAX_QUEUE:
                    seq += 1
                    due = time.monotonic() + delays.get(fds[fd], 0.0)
                    heapq.heappush(queue, (due, seq, fd, pkt))


if __name__ == "__main__":
    main()
