#!/usr/bin/env python3
"""Helpers for scripts/faults.sh (standard library only, Python >= 3.8).

  faults.py load --url URL [--header 'Name: value']... [--connections 16]
                 [--max-seconds 60] [--timeout 5] --out FILE.csv [--ready FILE]
      Closed-loop HTTP/1.1 keep-alive load (POST, empty body) on raw asyncio
      sockets. One CSV row per request: send_ns,recv_ns,status (wall clock,
      time.time_ns(), the same clock as `date +%s%N`); status 0 = no answer
      (connection error or past --timeout; the error goes in a 4th column).
      Stops sending on SIGUSR1/SIGTERM/SIGINT or after --max-seconds, waits
      for the requests in flight (each bounded by --timeout), writes the file.
      --ready FILE is created once the first answer has arrived.

  faults.py upstream --port PORT
      A tiny "who am I" app on 127.0.0.1: GET /me answers 200 {"id":"alice"}
      when the Cookie header has sid=fault-sid, 401 otherwise. POST /_mode/hang
      makes /me hang forever (the connection stays open, never answered, until
      the client gives up); POST /_mode/ok makes it answer again. Both answer
      {"mode": ..., "at_ns": <when it switched>}.

  faults.py report --csv FILE --kind redis|upstream --fault NS --restore NS
                   [--timeout-ms N] [--recovery-goal-ms 1000] [--json FILE]
      Statuses per phase (healthy / fault / after, by send time), latencies,
      and the checks; exit 1 on a violation.
"""

import argparse
import asyncio
import json
import math
import os
import signal
import sys
import time
import urllib.parse


# ----------------------------------------------------------------------- load
async def read_response(reader):
    """Reads one HTTP/1.1 response; returns (status, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    length = None
    chunked = False
    keep_alive = parts[0] == "HTTP/1.1"
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection":
            keep_alive = value.lower() != "close"
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    elif status not in (204, 304):
        await reader.read()  # until close
        keep_alive = False
    return status, keep_alive


async def load(args):
    url = urllib.parse.urlsplit(args.url)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("load: only loopback targets are allowed")
    host, port = url.hostname, url.port or 80
    path = url.path or "/"
    headers = [f"Host: {url.netloc}", "Content-Length: 0"] + list(args.header)
    request = (f"POST {path} HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\n\r\n").encode()

    rows = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    deadline = time.monotonic() + args.max_seconds
    ready_written = False

    async def one_connection():
        nonlocal ready_written
        reader = writer = None
        while not stop.is_set() and time.monotonic() < deadline:
            send_ns = time.time_ns()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(host, port), args.timeout)
                    send_ns = time.time_ns()
                writer.write(request)
                status, keep_alive = await asyncio.wait_for(read_response(reader), args.timeout)
                rows.append((send_ns, time.time_ns(), status, ""))
                if not ready_written and args.ready:
                    ready_written = True
                    with open(args.ready, "w") as f:
                        f.write(f"{time.time_ns()}\n")
                if not keep_alive:
                    writer.close()
                    writer = None
            except (OSError, EOFError, ValueError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError, asyncio.TimeoutError) as e:
                rows.append((send_ns, time.time_ns(), 0, type(e).__name__))
                if writer is not None:
                    writer.close()
                    writer = None
                await asyncio.sleep(0.01)  # no hot loop on a refused connect
        if writer is not None:
            writer.close()

    await asyncio.gather(*(one_connection() for _ in range(args.connections)))
    rows.sort()
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("send_ns,recv_ns,status,error\n")
        for r in rows:
            f.write(f"{r[0]},{r[1]},{r[2]},{r[3]}\n")
    os.replace(tmp, args.out)
    print(f"load: {len(rows)} requests on {args.connections} connections", file=sys.stderr)


# ------------------------------------------------------------------- upstream
async def upstream(args):
    mode = {"hang": False}
    counts = {"ok": 0, "unauth": 0, "hung": 0}

    async def handle(reader, writer):
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target = (lines[0].split(" ") + ["", ""])[:2]
                hdrs = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    hdrs[name.strip().lower()] = value.strip()
                length = int(hdrs.get("content-length", "0") or 0)
                if length:
                    await reader.readexactly(length)
                if target.startswith("/_mode/") and method == "POST":
                    mode["hang"] = target == "/_mode/hang"
                    at = time.time_ns()
                    print(f"upstream: mode {'hang' if mode['hang'] else 'ok'} at {at} "
                          f"(so far: {counts})", file=sys.stderr, flush=True)
                    status, body = 200, json.dumps(
                        {"mode": "hang" if mode["hang"] else "ok", "at_ns": at})
                elif target.split("?")[0] == "/me":
                    if mode["hang"]:
                        counts["hung"] += 1
                        # Hang forever: never answer; drop the data until the
                        # client gives up and closes the connection.
                        while await reader.read(65536):
                            pass
                        return
                    cookies = [c.strip() for c in hdrs.get("cookie", "").split(";")]
                    if "sid=fault-sid" in cookies:
                        counts["ok"] += 1
                        status, body = 200, '{"id":"alice"}'
                    else:
                        counts["unauth"] += 1
                        status, body = 401, '{"error":"not logged in"}'
                else:
                    status, body = 404, '{"error":"not found"}'
                reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}[status]
                data = body.encode()
                writer.write(
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", args.port, backlog=1024)
    print(f"upstream: listening on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.max_seconds)
    except asyncio.TimeoutError:
        print("upstream: --max-seconds reached, exiting", file=sys.stderr)
    server.close()
    print(f"upstream: done ({counts})", file=sys.stderr, flush=True)


# --------------------------------------------------------------------- report
def pct(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[i]  # nearest rank


def fmt_ms(v):
    return "-" if v is None else f"{v:.1f}"


def report(args):
    rows = []
    errors = {}
    with open(args.csv) as f:
        next(f)
        for line in f:
            s, r, st, err = line.rstrip("\n").split(",", 3)
            rows.append((int(s), int(r), int(st)))
            if err:
                errors[err] = errors.get(err, 0) + 1
    if not rows:
        print("no requests recorded")
        return 1
    fault, restore = args.fault, args.restore
    start = rows[0][0]
    end = max(r[1] for r in rows)
    ms = lambda ns: ns / 1e6  # noqa: E731
    fault_name = {"redis": "redis down", "upstream": "upstream hangs"}[args.kind]
    phases = [("healthy", start, fault), (fault_name, fault, restore), ("after", restore, end + 1)]

    out = {"kind": args.kind, "requests": len(rows), "fault_ns": fault, "restore_ns": restore,
           "phases": [], "checks": []}
    print(f"timeline (s from the first request): fault at {(fault - start) / 1e9:.3f}, "
          f"restored at {(restore - start) / 1e9:.3f}, last answer at {(end - start) / 1e9:.3f}")
    print()
    print("| phase (by send time) | seconds | requests | 200 | 503 | 401 | other | p50 ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, a, b in phases:
        sel = [r for r in rows if a <= r[0] < b]
        by = {}
        for r in sel:
            by[r[2]] = by.get(r[2], 0) + 1
        lat = sorted(ms(r[1] - r[0]) for r in sel)
        other = {k: v for k, v in by.items() if k not in (200, 503, 401)}
        print(f"| {name} | {(b - a) / 1e9:.2f} | {len(sel)} | {by.get(200, 0)} | {by.get(503, 0)} | "
              f"{by.get(401, 0)} | {sum(other.values())}{' ' + json.dumps(other) if other else ''} | "
              f"{fmt_ms(pct(lat, 50))} | {fmt_ms(pct(lat, 99))} | {fmt_ms(lat[-1] if lat else None)} |")
        out["phases"].append({"phase": name, "seconds": round((b - a) / 1e9, 3), "requests": len(sel),
                              "statuses": {str(k): v for k, v in sorted(by.items())},
                              "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
                              "max_ms": lat[-1] if lat else None})
    if errors:
        print(f"\nclient-side errors (status 0): {errors}")
    print()

    violations = 0

    def check(ok, what, detail, hard=True):
        nonlocal violations
        word = "ok" if ok else ("FAIL" if hard else "missed (goal, not a failure)")
        if not ok and hard:
            violations += 1
        print(f"- [{word}] {what}: {detail}")
        out["checks"].append({"check": what, "ok": ok, "hard": hard, "detail": detail})

    unexpected = [r for r in rows if r[2] not in (200, 503)]
    kinds = {}
    for r in unexpected:
        kinds[r[2]] = kinds.get(r[2], 0) + 1
    check(not unexpected, "statuses other than 200/503 (0 = no answer)",
          f"{len(unexpected)}" + (f" {json.dumps({str(k): v for k, v in kinds.items()})}" if kinds else ""))
    n401 = sum(1 for r in rows if r[2] == 401)
    check(n401 == 0, "401 answers", str(n401))
    grace = 50_000_000
    leaked = [r for r in rows if r[2] == 200 and r[0] > fault + grace and r[1] < restore]
    check(not leaked, "200 sent after the fault + 50 ms and answered before the restore", str(len(leaked)))
    seen = sum(1 for r in rows if fault <= r[0] < restore and r[2] == 503)
    check(seen > 0, "the fault was seen (503 during the fault)", str(seen))
    healthy_bad = [r for r in rows if r[0] < fault and r[2] != 200]
    print(f"- [info] non-200 sent before the fault: {len(healthy_bad)}"
          + (f" (earliest sent {ms(fault - min(r[0] for r in healthy_bad)):.1f} ms before it: in flight when it began)"
             if healthy_bad else ""))
    during_ok = [r for r in rows if fault <= r[0] < restore and r[2] == 200]
    if during_ok:
        print(f"- [info] 200 sent during the fault: {len(during_ok)} (sent from "
              f"{ms(min(r[0] for r in during_ok) - fault):.1f} ms after the fault; answered from "
              f"{ms(min(r[1] for r in during_ok) - restore):+.1f} ms relative to the restore)")

    if args.timeout_ms:
        hang = sorted(ms(r[1] - r[0]) for r in rows if fault + grace < r[0] and r[1] < restore)
        p99 = pct(hang, 99)
        limit = args.timeout_ms + args.latency_slack_ms
        over = sum(1 for v in hang if v > args.timeout_ms + 50)
        detail = (f"p50 {fmt_ms(pct(hang, 50))} ms, p99 {fmt_ms(p99)} ms, max {fmt_ms(hang[-1] if hang else None)} ms "
                  f"over {len(hang)} requests; {over} past the timeout + 50 ms")
        what = (f"latency during the fault (sent after it + 50 ms, answered before the restore; "
                f"SESSION_LOOKUP_TIMEOUT {args.timeout_ms} ms)")
        if args.kind == "upstream":
            check(p99 is not None and p99 <= limit, what, f"{detail} (p99 limit {limit} ms)")
        else:
            print(f"- [info] {what}: {detail}")
        out["fault_latency_ms"] = {"p50": pct(hang, 50), "p99": p99, "max": hang[-1] if hang else None,
                                   "past_timeout_plus_50ms": over}

    ok_after = [r for r in rows if r[2] == 200 and r[1] >= restore and r[0] > fault + grace]
    if ok_after:
        first = min(r[1] for r in ok_after)
        rec = ms(first - restore)
        check(True, "tokens flow again after the restore", "yes")
        check(rec < args.recovery_goal_ms, "recovery time (first 200 answered after the restore - restore)",
              f"{rec:.1f} ms (goal < {args.recovery_goal_ms} ms)", hard=False)
        after = [r for r in rows if r[0] >= restore]
        if after:
            r0 = min(after)
            waited = ms(r0[0] - restore)
            print(f"- [info] first request sent after the restore: {r0[2]} in {ms(r0[1] - r0[0]):.1f} ms "
                  f"(sent {waited:.1f} ms after it"
                  + ("; until then every closed-loop connection was still waiting on a request sent during the fault)"
                     if waited > 5 else ")"))
        late = sum(1 for r in rows if r[0] > first + grace and r[2] != 200)
        print(f"- [info] non-200 sent after the first recovered 200 + 50 ms: {late}")
        out["recovery_ms"] = rec
        out["non_200_after_recovery"] = late
    else:
        check(False, "tokens flow again after the restore", "no 200 after the restore")
        out["recovery_ms"] = None
    out["violations"] = violations
    out["client_errors"] = errors
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    print(f"\nresult: {'PASS' if violations == 0 else f'FAIL ({violations} violation(s))'}")
    return 1 if violations else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    lo = sub.add_parser("load")
    lo.add_argument("--url", required=True)
    lo.add_argument("--header", action="append", default=[])
    lo.add_argument("--connections", type=int, default=16)
    lo.add_argument("--max-seconds", type=float, default=60)
    lo.add_argument("--timeout", type=float, default=5)
    lo.add_argument("--out", required=True)
    lo.add_argument("--ready")
    up = sub.add_parser("upstream")
    up.add_argument("--port", type=int, required=True)
    up.add_argument("--max-seconds", type=float, default=600)
    r = sub.add_parser("report")
    r.add_argument("--csv", required=True)
    r.add_argument("--kind", choices=["redis", "upstream"], required=True)
    r.add_argument("--fault", type=int, required=True)
    r.add_argument("--restore", type=int, required=True)
    r.add_argument("--timeout-ms", type=int, default=0)
    r.add_argument("--latency-slack-ms", type=int, default=250)
    r.add_argument("--recovery-goal-ms", type=int, default=1000)
    r.add_argument("--json")
    a = p.parse_args()
    if a.cmd == "load":
        asyncio.run(load(a))
    elif a.cmd == "upstream":
        asyncio.run(upstream(a))
    else:
        sys.exit(report(a))


if __name__ == "__main__":
    main()
