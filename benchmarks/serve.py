"""The web server under load: requests/s and latency of /predict at 1, 8 and 32 concurrent clients, errors, the
server's resident memory before and after 10,000 requests, and a long schemathesis fuzz of the API.

The server is ``rnalabel serve`` in its own process on 127.0.0.1 (nothing else is contacted); the load generator
is an asyncio client (httpx) in this process. Each /predict request carries ``--batch`` demo-like RNAs of 101 nt
(different ones per request). The model is the demo model (``rnalabel demo``), made first when ``--model`` is not
given. Memory is VmRSS of the server process read from /proc.

Usage::

    python benchmarks/serve.py --out benchmarks/results/serve.md
    python benchmarks/serve.py --requests 200 --soak 500 --fuzz 20      # a quick check
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rbp31 import git_commit, write_result  # noqa: E402

BIN = Path(sys.executable).parent / "rnalabel"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def payloads(n: int, batch: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("ACGU"))
    out = []
    for i in range(n):
        seqs = ["".join(rng.choice(letters, 101)) for _ in range(batch)]
        out.append({"sequences": [{"id": f"r{i}_{j}", "sequence": s} for j, s in enumerate(seqs)]})
    return out


async def load(url: str, model: str, bodies: list[dict], clients: int) -> dict:
    import httpx

    queue: asyncio.Queue = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    lat: list[float] = []
    codes: dict[int, int] = {}

    async def client(c: httpx.AsyncClient) -> None:
        while True:
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t = time.perf_counter()
            try:
                r = await c.post(f"{url}/predict", json={"model": model, **body})
                code = r.status_code
            except httpx.HTTPError:
                code = -1
            lat.append(time.perf_counter() - t)
            codes[code] = codes.get(code, 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        wall = time.perf_counter() - t0
    ms = np.array(lat) * 1000
    return {"clients": clients, "n": len(bodies), "rps": len(bodies) / wall, "p50": np.percentile(ms, 50),
            "p95": np.percentile(ms, 95), "p99": np.percentile(ms, 99),
            "errors": sum(v for k, v in codes.items() if k != 200), "wall": wall}


def health_during_load(url: str, model: str, bodies: list[dict], clients: int) -> tuple[dict, float]:
    """/health latency (p95, ms) while ``clients`` clients keep /predict busy."""
    import httpx

    async def main():
        stop = asyncio.Event()
        h: list[float] = []

        async def probe():
            async with httpx.AsyncClient(timeout=60) as c:
                while not stop.is_set():
                    t = time.perf_counter()
                    await c.get(f"{url}/health")
                    h.append(time.perf_counter() - t)
                    await asyncio.sleep(0.05)

        task = asyncio.create_task(probe())
        res = await load(url, model, bodies, clients)
        stop.set()
        await task
        return res, float(np.percentile(np.array(h) * 1000, 95))

    return asyncio.run(main())


def _fuzzer(op, mode: str, examples: int, n: list[int], bad: list[int]):
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    @given(case=op.as_strategy(generation_mode=GenerationMode(mode)))
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case):
        n[0] += 1
        if case.call().status_code >= 500:
            bad[0] += 1

    return run


def fuzz(model_dir: Path, examples: int) -> list[tuple]:
    """schemathesis over every operation, positive and negative cases: (path, mode, requests, server errors)."""
    import schemathesis
    from hypothesis.errors import Unsatisfiable

    from rnalabel.server import Limits, create_app

    app = create_app([model_dir], limits=Limits(max_sequences=50, max_length=5000))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    rows = []
    for res in schema.get_all_operations():
        op = res.ok()
        for mode in ("positive", "negative"):
            n, bad = [0], [0]
            run = _fuzzer(op, mode, examples, n, bad)
            try:
                run()
            except Unsatisfiable:  # e.g. a negative case of an operation without parameters: nothing to violate
                rows.append((f"{op.method.upper()} {op.path}", mode, "n/a", "n/a"))
                continue
            rows.append((f"{op.method.upper()} {op.path}", mode, n[0], bad[0]))
            print(f"  {op.method.upper()} {op.path} {mode}: {n[0]} requests, {bad[0]} server errors", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="a run folder (default: the demo model, made in a temporary folder)")
    ap.add_argument("--batch", type=int, default=10, help="RNAs per /predict request")
    ap.add_argument("--requests", type=int, default=1000, help="requests per concurrency level")
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--workers", type=int, default=2, help="the server's --workers")
    ap.add_argument("--soak", type=int, default=10_000, help="requests for the memory check")
    ap.add_argument("--fuzz", type=int, default=300, help="schemathesis examples per operation and mode (0: skip)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/serve.md"))
    args = ap.parse_args()
    t0, commit = time.perf_counter(), git_commit()
    tmp = Path(tempfile.mkdtemp(prefix="rnalabel-serve-"))
    model = args.model
    if model is None:
        model = tmp / "demo"
        print("training the demo model ...", flush=True)
        subprocess.run([str(BIN), "demo", "--out", str(model), "--no-progress"], check=True,
                       stdout=subprocess.DEVNULL)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN), "serve", str(model), "--port", str(port), "--workers", str(args.workers)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        import httpx

        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("the server did not start: " + server.stderr.read().decode()[-2000:])
            time.sleep(0.3)
        name = httpx.get(f"{url}/models").json()[0]["name"]
        asyncio.run(load(url, name, payloads(50, args.batch, seed=99), 4))  # warm-up
        load_avg = os.getloadavg()[0]
        rss0 = rss_mb(server.pid)
        rows, health = [], {}
        for k in [int(x) for x in args.clients.split(",")]:
            res, h95 = health_during_load(url, name, payloads(args.requests, args.batch, seed=k), k)
            rows.append(res)
            health[k] = h95
            print(f"{k:>3} clients: {res['rps']:.1f} req/s, p50 {res['p50']:.1f} ms, p95 {res['p95']:.1f} ms, "
                  f"p99 {res['p99']:.1f} ms, errors {res['errors']}, /health p95 {h95:.1f} ms", flush=True)
        rss1 = rss_mb(server.pid)
        soak = asyncio.run(load(url, name, payloads(args.soak, args.batch, seed=7), 8))
        rss2 = rss_mb(server.pid)
        print(f"soak: {soak['n']} requests, errors {soak['errors']}, RSS {rss0:.0f} -> {rss1:.0f} -> {rss2:.0f} MiB",
              flush=True)
    finally:
        server.terminate()
        server.wait(30)
    fz = fuzz(model, args.fuzz) if args.fuzz else []

    lines = ["# The web server under load", "",
             f"`rnalabel serve` (uvicorn, one process, `--workers {args.workers}`: requests computed at once) on "
             f"127.0.0.1 of this machine ({os.cpu_count()} cores; load average {load_avg:.1f} before the first level: "
             f"other processes on these cores lower every rate), serving the demo Multi-resBind model; the load "
             f"generator (asyncio + httpx) runs on the same cores. Each `POST /predict` carries {args.batch} random "
             f"RNAs of 101 nt (JSON); {args.requests} requests per level after a warm-up of 50. `/health` is probed "
             "every 50 ms during each level.", "",
             "| concurrent clients | requests/s | RNAs/s | p50 ms | p95 ms | p99 ms | errors | /health p95 ms |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['clients']} | {r['rps']:.1f} | {r['rps'] * args.batch:,.0f} | {r['p50']:.1f} | "
                     f"{r['p95']:.1f} | {r['p99']:.1f} | {r['errors']} | {health[r['clients']]:.1f} |")
    lines += ["", f"Server resident memory: {rss0:.0f} MiB after the warm-up, {rss1:.0f} MiB after the three levels, "
              f"{rss2:.0f} MiB after {soak['n']:,} more requests at 8 clients ({soak['rps']:.1f} req/s, "
              f"{soak['errors']} errors).", ""]
    if fz:
        lines += ["## Fuzzing the API from its OpenAPI schema", "",
                  f"schemathesis, up to {args.fuzz} generated requests per operation and mode (positive: valid by "
                  "the schema; negative: violating it), through the ASGI app with limits of 50 sequences and "
                  "5,000 nt. A server error is any 5xx answer; n/a: the operation has nothing a negative case could violate.", "",
                  "| operation | mode | requests | server errors |", "|---|---|---|---|"]
        lines += [f"| `{p}` | {m} | {n} | {b} |" for p, m, n, b in fz]
        lines.append("")
    write_result(args.out, lines, commit, t0)


if __name__ == "__main__":
    main()
