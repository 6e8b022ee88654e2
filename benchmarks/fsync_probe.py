#!/usr/bin/env python3
"""The disk's floor: fdatasync latency for the write shapes a WAL can take.

Shapes (N writes each, one fdatasync after every write, like `--fsync always` with one client):
  append     write to the end of a growing file: fdatasync also commits the new size
  overwrite  write inside a preallocated, zero-filled, fdatasync'ed file (no metadata)
  fallocate  write inside a fallocate'd file (unwritten extents: the first write to each
             extent still commits metadata)

Usage: python3 benchmarks/fsync_probe.py [--dir DIR] [-n 2000] [--sizes 4096,256]
Prints p50/p99/mean in microseconds per shape and size. Run it in the file system that
holds the data directory (the default is the current directory).
"""
import argparse
import os
import statistics
import tempfile
import time


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def prepare(path, shape, total_bytes):
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
    if shape == "overwrite":
        chunk = b"\0" * (1 << 20)
        written = 0
        while written < total_bytes:
            written += os.write(fd, chunk[: min(len(chunk), total_bytes - written)])
    elif shape == "fallocate":
        os.posix_fallocate(fd, 0, total_bytes)
    os.fsync(fd)
    return fd


def measure(directory, shape, size, count):
    path = os.path.join(directory, f"fsync-probe-{shape}-{size}.tmp")
    total = size * count
    fd = prepare(path, shape, total)
    dir_fd = os.open(directory, os.O_RDONLY)
    os.fsync(dir_fd)
    os.close(dir_fd)
    payload = os.urandom(size)
    latencies = []
    try:
        for index in range(count):
            os.pwrite(fd, payload, index * size)
            started = time.perf_counter_ns()
            os.fdatasync(fd)
            latencies.append((time.perf_counter_ns() - started) / 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    return latencies


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default=".", help="directory on the file system to probe")
    parser.add_argument("-n", type=int, default=2000, help="writes (and fdatasyncs) per shape")
    parser.add_argument("--sizes", default="4096,256", help="write sizes in bytes, comma-separated")
    parser.add_argument("--shapes", default="append,overwrite,fallocate")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=arguments.dir, prefix="fsync-probe-") as directory:
        print(f"# fdatasync latency, N={arguments.n} per row, in {os.path.abspath(arguments.dir)}")
        print(f"{'shape':<10} {'bytes':>6} {'p50 µs':>8} {'p99 µs':>8} {'mean µs':>8}")
        for size in (int(s) for s in arguments.sizes.split(",")):
            for shape in arguments.shapes.split(","):
                values = measure(directory, shape, size, arguments.n)
                print(f"{shape:<10} {size:>6} {percentile(values, 0.5):>8.0f} {percentile(values, 0.99):>8.0f} {statistics.fmean(values):>8.0f}")


if __name__ == "__main__":
    main()
