#!/usr/bin/env python3
"""Soak (a) of issue 18: many slow clients against a running gateway.

Opens N connections to 127.0.0.1:PORT that each send an unfinished request
head (`GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: a`) and then one byte
every 2 s, reopening a closed one at most once a second, for DURATION
seconds (REOPEN seconds after it closed). Meanwhile, in another process
(so that the flood's event loop does not delay it), a client asks
`/healthz` and `/logs?limit=10` alternately on one keep-alive connection
opened before the flood, and another opens a fresh connection for
`/healthz` every 0.5 s. Prints the
latency percentiles, the statuses, and the gateway's RSS (from
/proc/PID/status) before, at the peak during, and 15 s after.

Bounded: at most N sockets, DURATION seconds. Loopback only.
usage: slow_clients.py PORT PID [N=10000] [DURATION=30] [REOPEN=5]
"""

import asyncio
import multiprocessing
import sys
import time

HOST = "127.0.0.1"


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def slow_client(port, stop, stats, reopen):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            stats["opened"] += 1
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            await writer.drain()
            while not stop.is_set():
                try:
                    data = await asyncio.wait_for(reader.read(256), 2.0)
                except asyncio.TimeoutError:
                    writer.write(b"a")
                    await writer.drain()
                    continue
                if not data:
                    break
                if data.startswith(b"HTTP/1.1 503"):
                    stats["refused"] += 1
                elif data.startswith(b"HTTP/1.1 408"):
                    stats["timed_out"] += 1
                break
            writer.close()
        except (OSError, ConnectionError):
            stats["errors"] += 1
        if not stop.is_set():
            await asyncio.sleep(reopen)


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def keepalive_client(port, stop, lat, statuses):
    reader, writer = await asyncio.open_connection(HOST, port)
    paths = ["/healthz", "/logs?limit=10"]
    i = 0
    while not stop.is_set():
        path = paths[i % 2]
        i += 1
        t = time.monotonic()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        status = int(head.split()[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        lat[path].append((time.monotonic() - t) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        await asyncio.sleep(0.05)
    writer.close()


async def fresh_client(port, stop, lat, statuses):
    while not stop.is_set():
        t = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 10)
            status = int(data.split()[1]) if data else "closed without an answer"
            writer.close()
        except (OSError, asyncio.TimeoutError, IndexError, ValueError) as e:
            status = type(e).__name__
        lat.append((time.monotonic() - t) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        await asyncio.sleep(0.5)


async def measure(port, duration, out):
    stop = asyncio.Event()
    lat = {"/healthz": [], "/logs?limit=10": []}
    fresh_lat, ka_status, fresh_status = [], {}, {}
    tasks = [
        asyncio.create_task(keepalive_client(port, stop, lat, ka_status)),
        asyncio.create_task(fresh_client(port, stop, fresh_lat, fresh_status)),
    ]
    await asyncio.sleep(duration)
    stop.set()
    await asyncio.wait(tasks, timeout=15)
    out.put((lat, ka_status, fresh_lat, fresh_status))


def measurer(port, duration, out):
    asyncio.run(measure(port, duration, out))


async def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    duration = float(sys.argv[4]) if len(sys.argv) > 4 else 30
    reopen = float(sys.argv[5]) if len(sys.argv) > 5 else 5
    before = rss_mb(pid)
    stop = asyncio.Event()
    stats = {"opened": 0, "refused": 0, "timed_out": 0, "errors": 0}
    out = multiprocessing.Queue()
    probe = multiprocessing.Process(target=measurer, args=(port, duration, out))
    probe.start()
    await asyncio.sleep(0.5)
    tasks = [asyncio.create_task(slow_client(port, stop, stats, reopen)) for _ in range(n)]
    peak = before
    start = time.monotonic()
    while time.monotonic() - start < duration:
        await asyncio.sleep(1)
        peak = max(peak, rss_mb(pid))
    stop.set()
    await asyncio.wait(tasks, timeout=15)
    for t in tasks:
        t.cancel()
    lat, ka_status, fresh_lat, fresh_status = out.get()
    probe.join()
    await asyncio.sleep(15)
    after = rss_mb(pid)
    print(f"slow connections: {n} for {duration:.0f} s: {stats}")
    for path, values in lat.items():
        print(
            f"keep-alive client {path}: {len(values)} requests, "
            f"p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms, "
            f"max {max(values, default=float('nan')):.1f} ms"
        )
    print(f"keep-alive statuses: {ka_status}")
    print(
        f"fresh-connection /healthz: {len(fresh_lat)} probes, p50 {percentile(fresh_lat, 0.5):.1f} ms, "
        f"p99 {percentile(fresh_lat, 0.99):.1f} ms, statuses {fresh_status}"
    )
    print(f"RSS MB: before {before:.1f}, peak during {peak:.1f}, 15 s after {after:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
