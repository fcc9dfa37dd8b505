#!/usr/bin/python3
"""run.py -- txc's benchmark driver (`make bench`; see bench/README.md).

For every workload of bench/numpy_forms.py it writes the inputs once as
.npy files (WORKDIR/NAME/), then in the same invocation times, on those
same inputs:

  txc          `txc run bench/NAME.tx --repeat N --time` (warm-up run, then
               N timed runs in one process; loads before and the save after
               the computation are outside the timing: txc --repeat)
  numpy        numpy.einsum(optimize=True) and the best hand-written form,
               one process each (python3 bench/numpy_forms.py)
  C            the naive loop nest (bench/naive/naive.c) or, for the
               linalg/FFT rows, direct LAPACKE/FFTW calls (bench/linalg_direct.c),
               both gcc -O3 -march=native

and records medians, min, peak RSS of each process (wait4), and the max
relative error of txc's result against numpy's best form.  Writes
bench/results.md (markdown) and prints it.

    /usr/bin/python3 bench/run.py [--quick] [--only NAME[,NAME...]] [--txc PATH]
                                  [--threads N] [--workdir DIR] [--out FILE]
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import numpy_forms  # noqa: E402

INPUT_VERSION = "1"          # bump when numpy_forms.py changes an input


def run_proc(cmd, cwd=None, timeout=600.0, env=None):
    """Run cmd under rss_exec (bench/rss_exec.c); returns (exit code or None on
    timeout, stdout, stderr, peak RSS of cmd in KiB, wall seconds)."""
    out_path = os.path.join(ARGS.workdir, ".stdout")
    err_path = os.path.join(ARGS.workdir, ".stderr")
    rss_path = os.path.join(ARGS.workdir, ".rss")
    if os.path.exists(rss_path):
        os.remove(rss_path)
    t0 = time.time()
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        rc = subprocess.call([RSS_EXEC, rss_path, str(int(timeout))] + list(cmd), cwd=cwd, stdout=fo,
                             stderr=fe, env=env)
    wall = time.time() - t0
    if rc == 124:
        rc = None
    try:
        with open(rss_path) as f:
            rss = int(f.read().strip() or 0)
    except (OSError, ValueError):
        rss = 0
    with open(out_path, "rb") as f:
        out = f.read().decode("utf-8", "replace")
    with open(err_path, "rb") as f:
        err = f.read().decode("utf-8", "replace")
    return rc, out, err, rss, wall


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""


def build_c():
    """Compile the naive nests and the direct LAPACKE/FFTW calls."""
    cc = os.environ.get("CC", "gcc")
    libs = sh("pkg-config --libs lapacke openblas fftw3") or "-llapacke -lopenblas -lfftw3"
    exes = {}
    for name, src, extra in (("rss_exec", "rss_exec.c", ""), ("naive", "naive/naive.c", "-lm"),
                             ("linalg_direct", "linalg_direct.c", libs + " -lm")):
        exe = os.path.join(ARGS.workdir, name)
        cmd = "%s -O3 -march=native -std=gnu11 -Wall -o %s %s %s" % (cc, exe, os.path.join(HERE, src), extra)
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
        if r.returncode != 0:
            print("bench: cannot compile %s:\n%s" % (src, r.stderr), file=sys.stderr)
            exes[name] = None
        else:
            exes[name] = exe
    return exes


def make_inputs(w):
    wdir = os.path.join(ARGS.workdir, w["name"])
    os.makedirs(wdir, exist_ok=True)
    stamp = os.path.join(wdir, ".inputs-" + INPUT_VERSION)
    if not os.path.exists(stamp):
        for k, gen in w["inputs"].items():
            np.save(os.path.join(wdir, k + ".npy"), np.ascontiguousarray(gen()))
        open(stamp, "w").close()
    for f in ("out.npy", "naive.npy", "numpy_best.npy", "numpy_einsum.npy"):
        if os.path.exists(os.path.join(wdir, f)):
            os.remove(os.path.join(wdir, f))
    return wdir


def rel_err(path, ref):
    """max |x - ref| / max |ref| (None when path is missing or shapes differ)."""
    if ref is None or not os.path.exists(path):
        return None
    try:
        x = np.load(path)
    except Exception:
        return None
    if x.shape != ref.shape:
        return float("inf")
    scale = float(np.max(np.abs(ref))) if ref.size else 1.0
    return float(np.max(np.abs(x - ref))) / (scale or 1.0) if ref.size else 0.0


def reps_for(est_ms):
    budget = 300.0 if ARGS.quick else 1500.0
    hi = 5 if ARGS.quick else 200
    if not est_ms or est_ms <= 0:
        return 5 if not ARGS.quick else 3
    return int(max(3, min(hi, math.ceil(budget / est_ms))))


def json_line(text, first=False):
    lines = text.splitlines()
    for line in (lines if first else reversed(lines)):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def first_error(err):
    for line in err.splitlines():
        if "error" in line or "txc:" in line and "repeat" not in line:
            return line.strip()[:160]
    return (err.strip().splitlines() or ["no output"])[0][:160]


def run_numpy(w, form, wdir):
    if not w.get(form):
        return None
    budget = 0.3 if ARGS.quick else 1.5
    rc, out, err, rss, _ = run_proc(
        [sys.executable, os.path.join(HERE, "numpy_forms.py"), ARGS.workdir, w["name"], form,
         "3", "5" if ARGS.quick else "200", str(budget)], timeout=600)
    r = json_line(out)
    if rc != 0 or not r:
        return {"fail": first_error(err) if rc is not None else "timeout"}
    r["rss_kb"] = rss
    return r


def parse_txc(err):
    r = {}
    for line in err.splitlines():
        if line.startswith("txc: repeat:"):
            def num(key, unit=" ms"):
                i = line.find(key)
                if i < 0:
                    return None
                s = line[i + len(key):].split(unit)[0].strip().rstrip(",;)")
                try:
                    return float(s)
                except ValueError:
                    return None
            r["setup_ms"] = num("set-up ")
            r["first_ms"] = num("first run ")
            r["plan_ms"] = num("planning ")
            r["jit_ms"] = num("jit compile ")
            r["median_ms"] = num("median ")
            r["min_ms"] = num("min ")
            r["cpu_median_ms"] = num("process cpu median ")
            i = line.find("(", line.find("min "))
            r["late_kernels"] = line[i + 1:].split()[0] if i >= 0 else "?"
        elif line.startswith("txc: front end"):
            try:
                r["front_ms"] = float(line.split("front end")[1].split("ms")[0])
            except (IndexError, ValueError):
                pass
        elif line.startswith("txc: jit:"):
            r["jit_line"] = line[len("txc: jit:"):].strip()
        elif line.startswith("txc: blas:") or line.startswith("txc: fuse:"):
            r[line[5:9]] = line[len("txc: blas:"):].strip()
    return r


def run_txc(w, wdir, est_ms):
    n = reps_for(est_ms)
    cmd = [ARGS.txc, "run", os.path.join(HERE, w["tx"]), "--repeat", str(n), "--time"]
    if ARGS.threads:
        cmd += ["--threads", str(ARGS.threads)]
    rc, out, err, rss, wall = run_proc(cmd, cwd=wdir, timeout=120 if ARGS.quick else 300)
    r = parse_txc(err)
    r["reps"] = n
    r["rss_kb"] = rss
    r["wall_s"] = wall
    if rc is None:
        r["fail"] = "timeout after %.0f s (%d runs asked)" % (wall, n + 1)
    elif rc != 0 or r.get("median_ms") is None:
        r["fail"] = "exit %s: %s" % (rc, first_error(err))
    if rc not in (0, None):
        r["stderr"] = err
    return r


def run_c(w, wdir, exes):
    kind = w.get("naive")
    if not kind:
        return None
    exe = exes.get("naive" if kind == "naive" else "linalg_direct")
    if not exe:
        return {"fail": "not compiled"}
    if ARGS.quick and w.get("est_naive_ms", 0) > 1000:
        return {"fail": "skipped (--quick)"}
    budget = 0.3 if ARGS.quick else 1.5
    env = dict(os.environ)
    rc, out, err, rss, _ = run_proc([exe, ARGS.workdir, w["name"], "3", "5" if ARGS.quick else "200",
                                     str(budget)], timeout=600, env=env)
    r = json_line(out, first=True)
    if rc != 0 or not r:
        return {"fail": first_error(err) if rc is not None else "timeout"}
    r["rss_kb"] = rss
    if sum(1 for line in out.splitlines() if line.startswith("{")) > 1:
        r["estimate_ms"] = json_line(out)["median_ms"]  # linalg_direct: FFTW_ESTIMATE plans
    return r


def better(a, b):
    """Of two rounds of the same measurement, the one with the lower median (min: the lower min)."""
    if not ok(a):
        return b
    if not ok(b):
        return a
    r = dict(a if a["median_ms"] <= b["median_ms"] else b)
    r["min_ms"] = min(a["min_ms"], b["min_ms"])
    if a.get("cpu_median_ms") is not None and b.get("cpu_median_ms") is not None:
        r["cpu_median_ms"] = min(a["cpu_median_ms"], b["cpu_median_ms"])
    r["rounds"] = 2
    return r


def fmt_ms(r):
    if r is None:
        return "—"
    if "fail" in r:
        return "FAIL" if not r["fail"].startswith("skipped") else "skipped"
    v = r["median_ms"]
    return ("%.3g" % v) if v < 100 else ("%.0f" % v)


def ratio(a, b):
    """a / b as "1.23x" when both are measured."""
    if not a or not b or "fail" in a or "fail" in b:
        return "—"
    x = a["median_ms"] / b["median_ms"]
    return ("%.2fx" % x) if x < 100 else ("%.0fx" % x)


def mib(r):
    if not r or "fail" in r or not r.get("rss_kb"):
        return "—"
    return "%.0f" % (r["rss_kb"] / 1024.0)


def fmt_err(e):
    if e is None:
        return "—"
    if e == float("inf"):
        return "shape!"
    return "%.1e" % e


def machine_info():
    model = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    cpus = sh("nproc")
    flags = sh("grep -o -w -m1 'avx512f' /proc/cpuinfo")
    pkgs = {}
    for p in ("libopenblas0-pthread", "libopenblas0", "liblapacke", "libfftw3-double3", "llvm-19"):
        v = sh("dpkg-query -W -f '${Version}' %s 2>/dev/null" % p)
        if v:
            pkgs[p] = v
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": "%s, %s cores%s" % (model, cpus, ", AVX-512" if flags else ""),
        "mem": sh("free -g | awk '/^Mem:/{print $2 \" GiB\"}'"),
        "os": sh(". /etc/os-release 2>/dev/null && echo $PRETTY_NAME") + ", kernel " + platform.release(),
        "txc": sh("%s --version" % ARGS.txc),
        "llvm": sh("llvm-config-19 --version") or pkgs.get("llvm-19", "?"),
        "openblas": pkgs.get("libopenblas0-pthread") or pkgs.get("libopenblas0", "?"),
        "lapacke": pkgs.get("liblapacke", "?"),
        "fftw": pkgs.get("libfftw3-double3", "?"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "gcc": sh("gcc -dumpfullversion"),
        "coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset (OpenBLAS default: %s)" % cpus),
        "thp": sh("cat /sys/kernel/mm/transparent_hugepage/enabled"),
        "load": sh("cut -d' ' -f1-3 /proc/loadavg"),
    }
    return info


def write_results(rows, info, total_s):
    L = []
    L.append("# txc benchmark results")
    L.append("")
    L.append("Produced by `make bench` (bench/run.py%s) on %s in %.0f s. Times are medians in ms "
             "(txc: N timed runs after a warm-up run in one process; numpy and C: after one warm-up run); "
             "ratios > 1 mean txc is faster. See bench/README.md for what is and is not timed."
             % (" --quick" if ARGS.quick else "", info["date"], total_s))
    L.append("")
    L.append("- machine: %s, %s RAM; %s; THP %s; load average at start %s"
             % (info["cpu"], info["mem"], info["os"], info["thp"], info["load"]))
    L.append("- versions: %s (LLVM %s); OpenBLAS %s (pthreads); LAPACKE %s; FFTW %s; numpy %s (python %s); "
             "gcc %s" % (info["txc"], info["llvm"], info["openblas"], info["lapacke"], info["fftw"],
                          info["numpy"], info["python"], info["gcc"]))
    L.append("- threads: txc `--threads %s`; numpy/OpenBLAS %s; naive C 1; direct LAPACKE/FFTW calls: "
             "OpenBLAS threads as numpy, FFTW 1"
             % (ARGS.threads or "default", info["blas_threads"]))
    L.append("- OPENBLAS_CORETYPE=%s (for every process: txc, numpy and C alike)" % info["coretype"])
    L.append("")
    main = [r for r in rows if r["w"].get("group") != "linalg"]
    lin = [r for r in rows if r["w"].get("group") == "linalg"]
    hdr = ("| workload | size | txc | compile | numpy einsum | numpy best (form) | naive C | "
           "best/txc | einsum/txc | C/txc | max rel err | peak RSS MiB txc / np best / C |")
    if main:
        L.append("## Workloads (../shared/bench/README.md)")
        L.append("")
        L.append(hdr)
        L.append("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
        for r in main:
            L.append(row_md(r))
        L.append("")
        sp = [r["np_best"]["median_ms"] / r["txc"]["median_ms"] for r in main
              if ok(r["txc"]) and ok(r["np_best"]) and r["err"] is not None and r["err"] < 1e-6]
        lr = [r["np_best"]["median_ms"] / r["w"]["readme_best_ms"] for r in main
              if ok(r["np_best"]) and r["w"].get("readme_best_ms")]
        if lr:
            L.append("Machine load: numpy's best forms ran roughly %.1fx slower (geometric mean over %d workloads) than "
                     "on the unloaded reference machine of ../shared/bench/README.md; ratios within this "
                     "table are what to compare." % (math.exp(sum(map(math.log, lr)) / len(lr)), len(lr)))
            L.append("")
        L.append("Geometric mean speedup of txc over numpy's best form: **%s** over %d of %d workloads "
                 "(those where txc ran and matched numpy to 1e-6)."
                 % (("%.2fx" % math.exp(sum(map(math.log, sp)) / len(sp))) if sp else "—", len(sp), len(main)))
        L.append("")
    if lin:
        L.append("## Linear algebra and FFT builtins (issue 6): txc against direct LAPACKE/FFTW calls")
        L.append("")
        L.append("| workload | size | txc | numpy | direct C | txc over direct C - 1 (median / min / CPU-time median) | "
                 "numpy/txc | "
                 "max rel err | peak RSS MiB txc / numpy / C |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
        for r in lin:
            t, nb, c = r["txc"], r["np_best"], r["c"]
            ov = "—"
            if ok(t) and ok(c):
                ov = "%+.1f%% / %+.1f%%" % (100.0 * (t["median_ms"] / c["median_ms"] - 1),
                                           100.0 * (t["min_ms"] / c["min_ms"] - 1))
                if t.get("cpu_median_ms") and c.get("cpu_median_ms"):
                    ov += " / %+.1f%%" % (100.0 * (t["cpu_median_ms"] / c["cpu_median_ms"] - 1))
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s |" % (
                r["w"]["name"], r["w"]["size"], fmt_ms(t), fmt_ms(nb), fmt_ms(c), ov, ratio(nb, t),
                fmt_err(r["err"]), mib(t), mib(nb), mib(c)))
        L.append("")
    if lin and not ARGS.quick:
        L.append("The linalg rows ran twice, interleaved (txc, C, txc, C); each side shows its better round. "
                 "The CPU-time overhead (process CPU time of the timed runs, all threads) is the least "
                 "disturbed by other jobs on a loaded machine.")
        L.append("")
    L.append("Columns: *txc* median of the timed runs; *compile* = front end + planning + JIT compilation "
             "(ms, from the first run); *best/txc*, *einsum/txc*, *C/txc* = the other side's median over "
             "txc's; *max rel err* = max |txc - numpy best| / max |numpy best|; peak RSS = ru_maxrss of each "
             "process (txc's includes LLVM, about 60-100 MiB, numpy's the interpreter and numpy).")
    L.append("")
    notes = [r for r in rows if r["notes"]]
    if notes:
        L.append("## Notes and failures")
        L.append("")
        for r in notes:
            for n in r["notes"]:
                L.append("- **%s**: %s" % (r["w"]["name"], n))
        L.append("")
    L.append("## Details")
    L.append("")
    L.append("| workload | txc runs | txc min | first run (incl. compile) | JIT kernels: compiled, ms in kernels "
             "per run, declined | BLAS, fusion | numpy best min | numpy best on the reference machine | C min | "
             "einsum vs best err | C vs best err |")
    L.append("|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        t = r["txc"]
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["w"]["name"], t.get("reps", "—"), fmt_num(t.get("min_ms")), fmt_num(t.get("first_ms")),
            jit_summary(t), other_summary(t), fmt_num(r["np_best"]["min_ms"]) if ok(r["np_best"]) else "—",
            fmt_num(r["w"].get("readme_best_ms")), fmt_num(r["c"]["min_ms"]) if ok(r["c"]) else "—",
            fmt_err(r["err_einsum"]), fmt_err(r["err_c"])))
    L.append("")
    text = "\n".join(L)
    with open(ARGS.out, "w") as f:
        f.write(text)
    return text


def jit_summary(t):
    """'txc: jit: 5 kernels compiled in 570 ms, 120 cache hits, 125 runs taking 4390 ms (1.2 ms lowering
    and looking up kernels), 0 definitions left to the evaluator' -> '5, 141, 0' (kernel ms per body
    run: warm-up + timed runs)."""
    m = re.search(r"(\d+) kernels compiled .* runs taking ([\d.]+) ms .*, (\d+) definitions", t.get("jit_line") or "")
    if not m:
        return "—"
    runs = (t.get("reps") or 0) + 1
    return "%s, %s, %s" % (m.group(1), fmt_num(float(m.group(2)) / runs), m.group(3))


def other_summary(t):
    """The --time lines of the BLAS and fusion passes, condensed: 'BLAS 12 defs, 4.1 ms/run; fused 6 groups'."""
    parts = []
    m = re.search(r"(\d+) definitions ran through BLAS .* taking ([\d.]+) ms", t.get("blas") or "")
    if m and m.group(1) != "0":
        parts.append("BLAS %s defs, %s ms/run" % (m.group(1), fmt_num(float(m.group(2)) / ((t.get("reps") or 0) + 1))))
    m = re.search(r"(\d+) groups fused \((\d+) statements, (\d+) reductions split", t.get("fuse") or "")
    if m and m.group(1) != "0":
        parts.append("fused %s groups" % m.group(1) + (", %s splits" % m.group(3) if m.group(3) != "0" else ""))
    return "; ".join(parts) or "—"


def fmt_num(v):
    return "—" if v is None else ("%.3g" % v if v < 100 else "%.0f" % v)


def ok(r):
    return bool(r) and "fail" not in r and r.get("median_ms") is not None


def row_md(r):
    w, t, ne, nb, c = r["w"], r["txc"], r["np_einsum"], r["np_best"], r["c"]
    comp = "—"
    if t.get("jit_ms") is not None:
        comp = fmt_num((t.get("jit_ms") or 0) + (t.get("front_ms") or 0) + (t.get("plan_ms") or 0))
    return "| %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s / %s / %s |" % (
        w["name"], w["size"], fmt_ms(t), comp, fmt_ms(ne), fmt_ms(nb), w.get("best_label", ""), fmt_ms(c),
        ratio(nb, t), ratio(ne, t), ratio(c, t), fmt_err(r["err"]), mib(t), mib(nb), mib(c))


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip naive nests over 1 s")
    ap.add_argument("--only", default="", help="comma-separated workload names (or prefixes)")
    ap.add_argument("--txc", default=os.path.join(ROOT, "build", "txc"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="txc --threads (default: nproc)")
    ap.add_argument("--workdir", default=os.path.join("/tmp", "txc-bench-%d" % os.getuid()))
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
    ARGS = ap.parse_args()
    ARGS.txc = os.path.abspath(ARGS.txc)
    if not os.access(ARGS.txc, os.X_OK):
        sys.exit("bench: no txc at %s (build it first, or pass --txc)" % ARGS.txc)
    os.makedirs(ARGS.workdir, exist_ok=True)
    sel = [s for s in ARGS.only.split(",") if s]
    names = [w["name"] for w in numpy_forms.WORKLOADS]
    want = set()
    for s in sel:                        # an exact name, else every name it prefixes
        want |= {s} if s in names else {n for n in names if n.startswith(s)}
    todo = [w for w in numpy_forms.WORKLOADS if not sel or w["name"] in want]
    if not todo:
        sys.exit("bench: no workload matches --only %s (have: %s)"
                 % (ARGS.only, ", ".join(w["name"] for w in numpy_forms.WORKLOADS)))
    info = machine_info()
    t_start = time.time()
    exes = build_c()
    global RSS_EXEC
    RSS_EXEC = exes["rss_exec"]
    if not RSS_EXEC:
        sys.exit("bench: cannot compile bench/rss_exec.c")
    rows = []
    for w in todo:
        t0 = time.time()
        wdir = make_inputs(w)
        nb = run_numpy(w, "best", wdir)
        ne = run_numpy(w, "einsum", wdir)
        est = nb["median_ms"] if ok(nb) else None
        t = run_txc(w, wdir, est)
        c = run_c(w, wdir, exes)
        if w.get("group") == "linalg" and not ARGS.quick:
            # issue 6 asks for a 5% overhead bound: a second round, interleaved (txc, C, txc, C),
            # keeping each side's better round, so a burst of load on one side does not decide it
            t, c = better(t, run_txc(w, wdir, est)), better(c, run_c(w, wdir, exes))
        ref = None
        if os.path.exists(os.path.join(wdir, "numpy_best.npy")):
            ref = np.load(os.path.join(wdir, "numpy_best.npy"))
        r = {"w": w, "txc": t, "np_best": nb, "np_einsum": ne, "c": c, "notes": [],
             "err": rel_err(os.path.join(wdir, "out.npy"), ref) if ok(t) else None,
             "err_einsum": rel_err(os.path.join(wdir, "numpy_einsum.npy"), ref),
             "err_c": rel_err(os.path.join(wdir, "naive.npy"), ref)}
        for what, x in (("txc", t), ("numpy best", nb), ("numpy einsum", ne), ("C", c)):
            if x and "fail" in x and not x["fail"].startswith("skipped"):
                r["notes"].append("%s failed: `%s`" % (what, x["fail"].replace("`", "'")))
        if ok(t) and (r["err"] is None or r["err"] > 1e-6):
            r["notes"].append("txc's result differs from numpy's best form: max rel err %s" % fmt_err(r["err"]))
        if ok(c) and c.get("estimate_ms"):
            r["notes"].append("C column: FFTW_MEASURE plans (made before the timing); the same calls with "
                              "FFTW_ESTIMATE plans, as txc's runtime makes them: %s ms" % fmt_num(c["estimate_ms"]))
        if ok(t) and t.get("late_kernels") not in (None, "0", "?"):
            r["notes"].append("%s kernels were compiled during the timed runs" % t["late_kernels"])
        rows.append(r)
        print("bench: %-22s txc %8s ms  numpy best %8s  einsum %8s  C %8s  err %s  (%.0f s)"
              % (w["name"], fmt_ms(t), fmt_ms(nb), fmt_ms(ne), fmt_ms(c), fmt_err(r["err"]), time.time() - t0),
              file=sys.stderr, flush=True)
    text = write_results(rows, info, time.time() - t_start)
    print(text)
    print("bench: wrote %s" % ARGS.out, file=sys.stderr)


if __name__ == "__main__":
    main()
