#!/bin/sh
# random_bytes.sh TXC TESTSDIR -- no input may crash `txc check`.
#
# A seeded generator writes a few hundred programs: random byte strings,
# "token soups" built from tx tokens (keywords, builtins, numbers, strings,
# operators, unbalanced brackets), mutations of the programs in
# TESTSDIR/programs, and a few pathological inputs (deep nesting, long
# names), about 300 in all.  `txc check` runs on each with a 10 s timeout
# (the whole loop stops early, with a note, after a 25 s budget so the test
# stays under 30 s on a loaded machine; the pathological inputs run first);
# any exit status
# other than 0 or 1, a signal or a timeout fails, and the offending input is
# shown (od -c) and kept in $TXC_FUZZ_KEEP if that is set.  The seed is
# $TXC_FUZZ_SEED (default 1729); /usr/bin/python3 generates the inputs when
# present, awk otherwise.
set -u
if [ $# -ne 2 ]; then echo "usage: random_bytes.sh TXC TESTSDIR" >&2; exit 2; fi
txc=$1
tests=$2
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
case $tests in /*) ;; *) tests=$(pwd)/$tests ;; esac
seed=${TXC_FUZZ_SEED:-1729}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/in"

if [ -x /usr/bin/python3 ]; then
/usr/bin/python3 - "$seed" "$tmp/in" "$tests/programs" <<'PY'
import os, random, sys
seed, out, progdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(seed)
KEYWORDS = ["let", "def", "for", "in", "print", "assert", "index", "return"]
BUILTINS = ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "sign",
            "floor", "ceil", "pow", "where", "max", "min", "sum", "prod", "conj", "real",
            "imag", "zeros", "ones", "full", "eye", "arange", "linspace", "rand", "randn",
            "load", "save", "reshape", "dim", "cast", "norm", "allclose", "solve", "inv",
            "det", "eigh", "svd", "qr", "fft", "ifft", "rfft", "irfft", "gaunt", "sph_harm"]
NAMES = ["A", "B", "C", "X", "Y", "O", "i", "j", "k", "a", "b", "n", "d", "t", "f", "_x1"]
NUMBERS = ["0", "1", "2", "3", "12", "1.5", ".5", "1e-3", "2.5e+4", "1j", "0.5j", "1e999",
           "1e", "0..3", "1..", "-1", "99999999999999999999", "4294967296", "1e-400", "0x1",
           "2147483648", "9223372036854775808", "-0", "1.2.3"]
STRINGS = ['"x.npy"', '"f32"', '"c128"', '"msg"', '"a\\"b"', '"\\\\"', '"\\n"', '"unterminated',
           '"\\q"', '""', '"no_such.npy"', '"f16"']
OPS = ["+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!=", "=", "+=", ",", ":", ";",
       "..", "->", ".", "!", "$", "@", "%", "&", "|", "~", "`", "?", "'", "\\"]
BRACKETS = ["(", ")", "[", "]", "{", "}"]
SEPS = [" ", " ", " ", "\n", "\t", "\r\n", "", "# comment\n"]
SNIPPETS = ["sum[k](", "max[i,j](", "prod[k](", "X[i,j]", "X[i+1]", "X[2*i+k]", "X[-1,0]",
            "(i == j)", "def f(A[n,d]) -> O[n] {", "-> (U[n,r], s[r])", "A[n,d]: f32",
            "for t in 0..3 {", "index i, j : 4", "seed=1", "value=2", "axis=-1", "rtol=1e-7",
            "zeros(100000,100000,100000)", "reshape(X, 0)", "C[i,j] = A[i,k] * B[k,j]\n",
            "a, b = f(X)\n", "X = load(\"x.npy\")\n", "return\n", "let n = 3\n"]
POOLS = [KEYWORDS, BUILTINS, NAMES, NUMBERS, STRINGS, OPS, BRACKETS, SEPS, SNIPPETS]
WEIGHTS = [3, 4, 8, 5, 1, 8, 6, 6, 3]

def write(i, data, prefix="f"):
    with open(os.path.join(out, "%s%04d.tx" % (prefix, i)), "wb") as f:
        f.write(data)

n = 0
# 1. random bytes: mostly printable, with control bytes, NUL and high bytes
for _ in range(80):
    length = rng.choice([0, 1, 2, 5, 20, 80, 300])
    data = bytearray()
    for _ in range(length):
        r = rng.random()
        if r < 0.7:
            data.append(rng.randint(32, 126))
        elif r < 0.85:
            data.append(rng.choice(b"\n\t\r;#\"\\[](){}"))
        else:
            data.append(rng.randint(0, 255))
    write(n, bytes(data)); n += 1
# 2. token soups
for _ in range(110):
    toks = []
    for _ in range(rng.randint(1, 60)):
        pool = rng.choices(POOLS, WEIGHTS)[0]
        toks.append(rng.choice(pool))
        toks.append(rng.choice(["", " ", " ", "\n"]))
    write(n, "".join(toks).encode()); n += 1
# 3. mutations of the real test programs
progs = []
if os.path.isdir(progdir):
    for name in sorted(os.listdir(progdir)):
        if name.endswith(".tx"):
            with open(os.path.join(progdir, name), "rb") as f:
                progs.append(f.read())
for _ in range(90 if progs else 0):
    src = bytearray(rng.choice(progs))
    for _ in range(rng.randint(1, 6)):
        if not src:
            break
        pos = rng.randrange(len(src))
        op = rng.random()
        if op < 0.3:        # delete a run
            del src[pos:pos + rng.randint(1, 8)]
        elif op < 0.6:      # insert a token
            pool = rng.choices(POOLS, WEIGHTS)[0]
            src[pos:pos] = rng.choice(pool).encode()
        elif op < 0.75:     # duplicate a run
            src[pos:pos] = src[pos:pos + rng.randint(1, 30)]
        elif op < 0.9:      # replace one byte
            src[pos] = rng.choice(b"()[]{},;=+-*/^<>.0123456789ijk\n\"")
        else:               # truncate
            del src[pos:]
    write(n, bytes(src)); n += 1
# 4. pathological inputs
patho = [
    b"x = " + b"(" * 3000 + b"1" + b")" * 3000 + b"\n",
    b"x = " + b"(" * 3000 + b"\n",
    b"A[" + b"i," * 2000 + b"i] = 1\n",
    b"x = " + b"-" * 5000 + b"1\n",
    b"x = 2" + b"^2" * 3000 + b"\n",
    b"y = " + b"sum[k](" * 1500 + b"1" + b")" * 1500 + b"\n",
    b"x = 1" + b" + 1" * 20000 + b"\n",
    b"v" * 100000 + b" = 1\n",
    b"print \"" + b"s" * 100000 + b"\"\n",
    b"for t in 0..3 {\n" * 500,
    b"}" * 100,
    b"def f(A[n]) -> B[n] { B = f(A) }\nB = f(ones(3))\n",
    b"\xef\xbb\xbfx = 1\n",
    b"x = 1\x00\nprint x\n",
    b"let n = 1e999\nA = zeros(n)\n",
    b"A = zeros(-1)\n",
    b"A = ones(3)\nB[i] = A[i+9223372036854775807]\n",
    b"A = ones(3)\nB[i] = A[9223372036854775807*i]\n",
    b"A = ones(3)\nx = A[-9223372036854775808]\n",
    b"index i : 1e300\nX[i] = i\n",
    b"A = reshape(ones(4), 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2)\n",
    b"X = zeros(" + b"1," * 40 + b"1)\n",
]
for p in patho:                 # named so that they run first
    write(n, p, prefix="a"); n += 1
PY
else
    # awk fallback: token soups and random printable bytes only
    awk -v seed="$seed" -v out="$tmp/in" 'BEGIN {
        srand(seed)
        nt = split("let def for in print assert index return sum[k]( max[i](", kw, " ")
        ns = split("A B X i j k n t 0 1 2 1.5 .5 1e-3 1j \"s\" \"x + - * / ^ < <= == = += , : ; .. -> ( ) [ ] { } $ @ exp zeros ones reshape load", tk, " ")
        for (f = 0; f < 300; f++) {
            file = sprintf("%s/f%04d.tx", out, f)
            len = int(rand() * 60)
            s = ""
            for (t = 0; t < len; t++) {
                if (rand() < 0.2) s = s kw[1 + int(rand() * nt)]
                else s = s tk[1 + int(rand() * ns)]
                r = rand()
                s = s (r < 0.6 ? " " : (r < 0.8 ? "\n" : ""))
            }
            printf "%s", s > file
            close(file)
        }
    }'
fi

count=0
failures=0
start=$(date +%s)
budget=${TXC_FUZZ_BUDGET:-25}
skipped=0
for f in "$tmp"/in/*.tx; do
    if [ $(($(date +%s) - start)) -ge "$budget" ]; then
        skipped=$((skipped + 1))
        continue
    fi
    count=$((count + 1))
    timeout 10 "$txc" check "$f" </dev/null >/dev/null 2>"$tmp/stderr"
    rc=$?
    case $rc in
        0|1) continue ;;
        124) why="timed out after 10 s" ;;
        *) if [ $rc -ge 128 ]; then why="killed by signal $((rc - 128))"; else why="exit status $rc"; fi ;;
    esac
    failures=$((failures + 1))
    echo "FAIL: txc check $(basename "$f"): $why (seed $seed); input:" >&2
    od -c "$f" | head -n 30 >&2
    echo "--- stderr (first lines) ---" >&2
    head -n 10 "$tmp/stderr" >&2
    if [ -n "${TXC_FUZZ_KEEP:-}" ]; then
        mkdir -p "$TXC_FUZZ_KEEP" && cp "$f" "$TXC_FUZZ_KEEP/seed$seed-$(basename "$f")"
    fi
done
end=$(date +%s)
if [ $failures -ne 0 ]; then
    echo "random_bytes: $failures of $count inputs crashed or hung txc check" >&2
    exit 1
fi
if [ $skipped -ne 0 ]; then
    echo "note: the ${budget} s budget ran out; $skipped inputs were not run"
fi
echo "random_bytes: $count inputs, no crash ($((end - start)) s, seed $seed)"
exit 0
