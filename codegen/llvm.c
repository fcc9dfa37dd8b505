/*
 * llvm.c -- loop IR to LLVM IR through the LLVM C API.
 *
 * Input: a verified LIR function.  Output: a module with two functions,
 *
 *     void SYM(void **bufs)                       -- the kernel ABI
 *     internal void SYM.body(ptr noalias %b0, ...) -- the loop nest
 *
 * (a size-generic kernel, f->nsyms > 0, built by txc build without
 * --shape: void SYM(void **bufs, const int64_t *sizes), and the body takes
 * the sizes pointer last; loops of run-time extent are guarded by a test
 * of their trip count, strides multiply the sizes loaded on entry)
 *
 * plus, for each parallel loop at the kernel's top level (ir/lir_sched.c),
 *
 *     internal SYM.parN(ptr ctx, i64 lo, i64 hi)  -- one chunk of the loop
 *     internal SYM.parN.body(noalias bufs..., i64 lo, i64 hi)
 *
 * which the body runs through txrt_parallel_for (see parallel_loop).
 * The entry loads the buffer pointers and calls the body, which is marked
 * alwaysinline: when the inliner folds it in, its noalias parameters become
 * scoped alias metadata, which is what lets LLVM vectorise loads of the
 * inputs across stores to the output.  Loops are emitted bottom-tested
 * (constant trip counts, extent 0 skips the loop), offsets as nsw i64
 * arithmetic, accumulators as allocas that SROA promotes.
 *
 * Register tiles (ir/lir_sched.c) reach codegen as jammed copies of
 * scalar statements.  The copies that are lanes of one vector operation
 * (ir/lir_lanes.h) are emitted as vector loads, broadcasts, FMAs into a
 * vector of accumulators and vector stores of the target's register size
 * (vec_bytes); the rest stays scalar for LLVM's vectorisers.  (Left to
 * SLP, a tile of several rows was packed across its rows, with gathers
 * and permutes: conv1d's 4x16 tile ran at 12 ms instead of 5.6.)
 *
 * Numbers: f32/f64 values are LLVM floats/doubles; a complex value is a
 * pair (re, im) of them, and complex buffers hold interleaved pairs.
 * Math goes through intrinsics (llvm.exp, llvm.sqrt, llvm.pow, ...) or
 * libm calls (tan, tanh, hypot, atan2, sinh, cosh), all resolved by the
 * JIT's explicit symbol table.  At -O2 and up on an AVX2 or AVX-512 target
 * (tx_cg_vecmath_for), calls of exp, log, sin, cos, tan, tanh, sinh, cosh,
 * pow, hypot and atan2 name glibc libmvec's vector variants in the
 * "vector-function-abi-variant" attribute (what clang's -fveclib=libmvec
 * sets up), so loops calling them vectorise with calls such as
 * _ZGVeN8v_exp instead of being scalarised.  libmvec is accurate to
 * 4 ulp, where libm's results are within 1 ulp: loops vectorised this
 * way differ from the evaluator's in the last bits.  Every operation
 * otherwise reproduces the reference
 * evaluator's definition (ir/interp.c): max/min propagate NaN, complex
 * division is Smith's method, complex values are ordered lexicographically
 * like numpy's, complex powers with small integer exponents multiply.
 *
 * Fast-math flags appear in exactly one place: the accumulate step of a
 * reduction gets reassoc (so its loop vectorises) and contract, as does a
 * product feeding a sum (so the pair becomes an FMA); a reduction the
 * fuser keeps in a scratch row (R[o] = R[o] + x*y, tx_lir_row_update)
 * gets contract on its step.  Every other
 * operation keeps IEEE semantics, so results differ from the evaluator's
 * only where a reduction was reassociated, in the last bits.
 */
#include "codegen/llvm_internal.h"
#include "ir/lir_lanes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cv {
    LLVMValueRef re, im; /* im is NULL for a real value */
} cv;

typedef struct cg {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTypeRef f32, f64, i64, ptr, voidt;
    const tx_lir_func *f;
    LLVMValueRef fn;          /* the function being emitted (a body) */
    LLVMBasicBlockRef entry;  /* its entry block (allocas) */
    const char *sym;          /* the kernel's symbol */
    int npar;                 /* parallel loops outlined so far */
    int depth;                /* loops open around the insertion point */
    LLVMValueRef *bufp;       /* body parameters */
    LLVMValueRef *var;        /* current i64 value of each loop variable */
    LLVMValueRef *symv;       /* the run-time sizes (i64) in the current function */
    LLVMValueRef *acc_re, *acc_im;
    tx_cg_vecmath vm;         /* which libmvec variants calls may name */
    tx_lir_lanes *lanes;      /* statements emitted as vectors (NULL: none) */
    LLVMValueRef *vfns;       /* the variants declared so far */
    int nvfns, capvfns;
    char *err;
} cg;

static bool fail(cg *c, const char *msg) {
    if (!c->err) c->err = strdup(msg);
    return false;
}

static bool single(txrt_dtype dt) { return dt == TXRT_F32 || dt == TXRT_C64; }
static LLVMTypeRef comp_type(cg *c, txrt_dtype dt) { return single(dt) ? c->f32 : c->f64; }

static LLVMValueRef fconst(cg *c, LLVMTypeRef t, double x) { return LLVMConstReal(t, x); }

/* ---- calls ------------------------------------------------------------- */

static void add_fn_attr(cg *c, LLVMValueRef fn, const char *name) {
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->ctx, kind, 0));
}

/* nounwind, willreturn and memory(none) (the int attribute "memory" with
 * value 0: touches no memory).  The last lets the vectoriser widen a libm
 * call and CSE/LICM move it; it ignores errno, which nothing reads (the
 * llvm.exp & co. intrinsics assume the same). */
static void pure_fn_attrs(cg *c, LLVMValueRef fn) {
    add_fn_attr(c, fn, "nounwind");
    add_fn_attr(c, fn, "willreturn");
    add_fn_attr(c, fn, "memory");
}

/* Is base (exp, sin, pow, ...) a function libmvec has variants of, and of
 * how many arguments? 0 when not. */
static int vecmath_arity(const char *base) {
#define TX_VM_ARITY1(f) if (strcmp(base, #f) == 0) return 1;
#define TX_VM_ARITY2(f) if (strcmp(base, #f) == 0) return 2;
    TX_CG_VECMATH_FUNCS(TX_VM_ARITY1, TX_VM_ARITY2)
#undef TX_VM_ARITY1
#undef TX_VM_ARITY2
    return 0;
}

/* Declare the vector function vname of n arguments of type <lanes x t>
 * (once) and remember it for @llvm.compiler.used. */
static void declare_variant(cg *c, const char *vname, LLVMTypeRef t, unsigned lanes, int n) {
    if (LLVMGetNamedFunction(c->mod, vname)) return;
    LLVMTypeRef vt = LLVMVectorType(t, lanes);
    LLVMTypeRef params[2] = { vt, vt };
    LLVMValueRef fn = LLVMAddFunction(c->mod, vname, LLVMFunctionType(vt, params, (unsigned)n, 0));
    pure_fn_attrs(c, fn);
    if (c->nvfns == c->capvfns) {
        int cap = c->capvfns ? 2 * c->capvfns : 16;
        LLVMValueRef *p = realloc(c->vfns, (size_t)cap * sizeof *p);
        if (!p) return; /* without the entry the declaration may be dropped: no vector call, still correct */
        c->vfns = p;
        c->capvfns = cap;
    }
    c->vfns[c->nvfns++] = fn;
}

/* Give call (of base, a libm function of type t of n arguments, under the
 * scalar name LLVM sees: exp, tanh, llvm.exp.f64, ...) its libmvec
 * variants in the "vector-function-abi-variant" attribute:
 *
 *     _ZGV_LLVM_N<lanes><v per argument>_<scalar>(_ZGV<isa>N<lanes><v...>_<base>[f])
 *
 * comma-separated, one per usable ISA (tx_cg_vecmath).  The loop
 * vectoriser looks the mapping up by vector width (VFDatabase) and calls
 * the declared variant; 'N' is the unmasked form. */
static void vecmath_mark(cg *c, LLVMValueRef call, const char *base, LLVMTypeRef t) {
    if (c->vm == TX_CG_VECMATH_NONE) return;
    int n = vecmath_arity(base);
    if (n == 0) return;
    bool f32 = t == c->f32;
    size_t slen;
    const char *scalar = LLVMGetValueName2(LLVMGetCalledValue(call), &slen);
    static const struct { char isa; unsigned lanes64; } isas[] = { { 'b', 2 }, { 'd', 4 }, { 'e', 8 } };
    int nisa = c->vm == TX_CG_VECMATH_AVX512 ? 3 : 2;
    char attr[512];
    size_t len = 0;
    for (int k = 0; k < nisa; k++) {
        unsigned lanes = isas[k].lanes64 * (f32 ? 2 : 1);
        char vname[64];
        snprintf(vname, sizeof vname, "_ZGV%cN%u%s_%s%s", isas[k].isa, lanes, n == 2 ? "vv" : "v", base,
                 f32 ? "f" : "");
        declare_variant(c, vname, t, lanes, n);
        int w = snprintf(attr + len, sizeof attr - len, "%s_ZGV_LLVM_N%u%s_%.*s(%s)", k ? "," : "", lanes,
                         n == 2 ? "vv" : "v", (int)slen, scalar, vname);
        if (w < 0 || (size_t)w >= sizeof attr - len) return; /* cannot happen: names are short */
        len += (size_t)w;
    }
    static const char key[] = "vector-function-abi-variant";
    LLVMAddCallSiteAttribute(call, LLVMAttributeFunctionIndex,
                             LLVMCreateStringAttribute(c->ctx, key, sizeof key - 1, attr, (unsigned)len));
}

static LLVMValueRef intrinsic(cg *c, const char *name, LLVMTypeRef t, LLVMValueRef *args, int n) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, &t, 1);
    LLVMTypeRef fty = LLVMIntrinsicGetType(c->ctx, id, &t, 1);
    LLVMValueRef call = LLVMBuildCall2(c->b, fty, fn, args, (unsigned)n, "");
    if (strncmp(name, "llvm.", 5) == 0) vecmath_mark(c, call, name + 5, t);
    return call;
}

/* A libm function of n arguments of type t: name for double, namef for float. */
static LLVMValueRef libm(cg *c, const char *name, LLVMTypeRef t, LLVMValueRef *args, int n) {
    char nm[32];
    snprintf(nm, sizeof nm, "%s%s", name, t == c->f32 ? "f" : "");
    LLVMTypeRef params[3] = { t, t, t };
    LLVMTypeRef fty = LLVMFunctionType(t, params, (unsigned)n, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(c->mod, nm);
    if (!fn) {
        fn = LLVMAddFunction(c->mod, nm, fty);
        pure_fn_attrs(c, fn);
    }
    LLVMValueRef call = LLVMBuildCall2(c->b, fty, fn, args, (unsigned)n, "");
    vecmath_mark(c, call, name, t);
    return call;
}

static LLVMValueRef call1(cg *c, const char *intr, LLVMValueRef x) {
    return intrinsic(c, intr, LLVMTypeOf(x), &x, 1);
}
static LLVMValueRef call2(cg *c, const char *intr, LLVMValueRef x, LLVMValueRef y) {
    LLVMValueRef a[2] = { x, y };
    return intrinsic(c, intr, LLVMTypeOf(x), a, 2);
}
static LLVMValueRef lib1(cg *c, const char *name, LLVMValueRef x) {
    return libm(c, name, LLVMTypeOf(x), &x, 1);
}
static LLVMValueRef lib2(cg *c, const char *name, LLVMValueRef x, LLVMValueRef y) {
    LLVMValueRef a[2] = { x, y };
    return libm(c, name, LLVMTypeOf(x), a, 2);
}

/* ---- scalar building blocks --------------------------------------------- */

#define B (c->b)

static LLVMValueRef b_fadd(cg *c, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildFAdd(B, x, y, ""); }
static LLVMValueRef b_fsub(cg *c, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildFSub(B, x, y, ""); }
static LLVMValueRef b_fmul(cg *c, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildFMul(B, x, y, ""); }
static LLVMValueRef b_fdiv(cg *c, LLVMValueRef x, LLVMValueRef y) { return LLVMBuildFDiv(B, x, y, ""); }
static LLVMValueRef fcmp(cg *c, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y) {
    return LLVMBuildFCmp(B, p, x, y, "");
}
static LLVMValueRef sel(cg *c, LLVMValueRef k, LLVMValueRef x, LLVMValueRef y) {
    return LLVMBuildSelect(B, k, x, y, "");
}
static LLVMValueRef zero_of(LLVMValueRef x) { return LLVMConstReal(LLVMTypeOf(x), 0.0); }
static LLVMValueRef one_of(LLVMValueRef x) { return LLVMConstReal(LLVMTypeOf(x), 1.0); }
/* 1.0 or 0.0 of type t from an i1 */
static LLVMValueRef b2f(cg *c, LLVMValueRef k, LLVMTypeRef t) { return LLVMBuildUIToFP(B, k, t, ""); }

/* max(a, b) and min(a, b) as the evaluator defines them (numpy.maximum):
 * a when a >= b or a is NaN, else b -- NaN from either side propagates. */
static LLVMValueRef rmax(cg *c, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef k = LLVMBuildOr(B, fcmp(c, LLVMRealOGE, a, b), fcmp(c, LLVMRealUNO, a, a), "");
    return sel(c, k, a, b);
}
static LLVMValueRef rmin(cg *c, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef k = LLVMBuildOr(B, fcmp(c, LLVMRealOLE, a, b), fcmp(c, LLVMRealUNO, a, a), "");
    return sel(c, k, a, b);
}

/* numpy's order of complex values: lexicographic, real part first, and a
 * NaN imaginary part makes the real-part comparison false (the
 * evaluator's CLT/CLE/CGT/CGE). */
static LLVMValueRef ccmp(cg *c, tx_tir_op op, cv x, cv y) {
    LLVMRealPredicate strict = (op == TX_TOP_LT || op == TX_TOP_LE) ? LLVMRealOLT : LLVMRealOGT;
    LLVMRealPredicate im = op == TX_TOP_LT ? LLVMRealOLT : op == TX_TOP_LE ? LLVMRealOLE
                         : op == TX_TOP_GT ? LLVMRealOGT : LLVMRealOGE;
    LLVMValueRef a = LLVMBuildAnd(B, fcmp(c, strict, x.re, y.re), fcmp(c, LLVMRealORD, x.im, y.im), "");
    LLVMValueRef b = LLVMBuildAnd(B, fcmp(c, LLVMRealOEQ, x.re, y.re), fcmp(c, im, x.im, y.im), "");
    return LLVMBuildOr(B, a, b, "");
}

/* max/min of complex values (the evaluator's zmax/zmin): x when x has a
 * NaN part or x >= y (<= y), else y. */
static cv cmax(cg *c, cv x, cv y, bool is_max) {
    LLVMValueRef k = LLVMBuildOr(B, fcmp(c, LLVMRealUNO, x.re, x.im),
                                 ccmp(c, is_max ? TX_TOP_GE : TX_TOP_LE, x, y), "");
    cv r = { sel(c, k, x.re, y.re), sel(c, k, x.im, y.im) };
    return r;
}

/* ---- complex arithmetic ------------------------------------------------- */

static cv cmul(cg *c, cv x, cv y) {
    cv r = { b_fsub(c, b_fmul(c, x.re, y.re), b_fmul(c, x.im, y.im)),
             b_fadd(c, b_fmul(c, x.re, y.im), b_fmul(c, x.im, y.re)) };
    return r;
}

/* numpy's complex division (Smith's method, as the evaluator does it):
 * scale by the larger of |y.re|, |y.im|; x/0 divides each part by +0. */
static cv cdiv(cg *c, cv x, cv y) {
    LLVMValueRef abr = call1(c, "llvm.fabs", y.re), abi = call1(c, "llvm.fabs", y.im);
    LLVMValueRef big = fcmp(c, LLVMRealOGE, abr, abi);
    LLVMValueRef one = one_of(y.re);
    /* |yr| >= |yi| */
    LLVMValueRef r1 = b_fdiv(c, y.im, y.re);
    LLVMValueRef s1 = b_fdiv(c, one, b_fadd(c, y.re, b_fmul(c, y.im, r1)));
    LLVMValueRef re1 = b_fmul(c, b_fadd(c, x.re, b_fmul(c, x.im, r1)), s1);
    LLVMValueRef im1 = b_fmul(c, b_fsub(c, x.im, b_fmul(c, x.re, r1)), s1);
    /* |yr| < |yi| */
    LLVMValueRef r2 = b_fdiv(c, y.re, y.im);
    LLVMValueRef s2 = b_fdiv(c, one, b_fadd(c, y.im, b_fmul(c, y.re, r2)));
    LLVMValueRef re2 = b_fmul(c, b_fadd(c, b_fmul(c, x.re, r2), x.im), s2);
    LLVMValueRef im2 = b_fmul(c, b_fsub(c, b_fmul(c, x.im, r2), x.re), s2);
    /* y == 0 */
    LLVMValueRef zero = fcmp(c, LLVMRealOEQ, b_fadd(c, abr, abi), zero_of(abr));
    LLVMValueRef re0 = b_fdiv(c, x.re, abr), im0 = b_fdiv(c, x.im, abr);
    cv r = { sel(c, zero, re0, sel(c, big, re1, re2)), sel(c, zero, im0, sel(c, big, im1, im2)) };
    return r;
}

static cv cexp_(cg *c, cv x) {
    LLVMValueRef m = call1(c, "llvm.exp", x.re);
    cv r = { b_fmul(c, m, call1(c, "llvm.cos", x.im)), b_fmul(c, m, call1(c, "llvm.sin", x.im)) };
    return r;
}

static cv clog_(cg *c, cv x) {
    cv r = { call1(c, "llvm.log", lib2(c, "hypot", x.re, x.im)), lib2(c, "atan2", x.im, x.re) };
    return r;
}

/* Principal square root: t = sqrt((|re| + |z|) / 2); re >= 0: (t, im/2t),
 * else (|im|/2t, copysign(t, im)); sqrt(0) = 0. */
static cv csqrt_(cg *c, cv x) {
    LLVMValueRef az = lib2(c, "hypot", x.re, x.im);
    LLVMValueRef half = fconst(c, LLVMTypeOf(x.re), 0.5);
    LLVMValueRef t = call1(c, "llvm.sqrt", b_fmul(c, b_fadd(c, call1(c, "llvm.fabs", x.re), az), half));
    LLVMValueRef t2 = b_fadd(c, t, t);
    LLVMValueRef pos = fcmp(c, LLVMRealOGE, x.re, zero_of(x.re));
    LLVMValueRef re = sel(c, pos, t, b_fdiv(c, call1(c, "llvm.fabs", x.im), t2));
    LLVMValueRef im = sel(c, pos, b_fdiv(c, x.im, t2), call2(c, "llvm.copysign", t, x.im));
    LLVMValueRef z = fcmp(c, LLVMRealOEQ, az, zero_of(az));
    cv r = { sel(c, z, zero_of(re), re), sel(c, z, x.im, im) };
    return r;
}

static cv csin_(cg *c, cv x) {
    cv r = { b_fmul(c, call1(c, "llvm.sin", x.re), lib1(c, "cosh", x.im)),
             b_fmul(c, call1(c, "llvm.cos", x.re), lib1(c, "sinh", x.im)) };
    return r;
}

static cv ccos_(cg *c, cv x) {
    cv r = { b_fmul(c, call1(c, "llvm.cos", x.re), lib1(c, "cosh", x.im)),
             LLVMBuildFNeg(B, b_fmul(c, call1(c, "llvm.sin", x.re), lib1(c, "sinh", x.im)), "") };
    return r;
}

/* tanh(a+bi) = (tanh a (1 + tan^2 b), tan b (1 - tanh^2 a)) / (1 + tanh^2 a tan^2 b),
 * which stays finite for large |a| (the formula of C99's ctanh). */
static cv ctanh_(cg *c, cv x) {
    LLVMValueRef ta = lib1(c, "tanh", x.re), tb = lib1(c, "tan", x.im);
    LLVMValueRef ta2 = b_fmul(c, ta, ta), tb2 = b_fmul(c, tb, tb);
    LLVMValueRef one = one_of(ta);
    LLVMValueRef den = b_fadd(c, one, b_fmul(c, ta2, tb2));
    cv r = { b_fdiv(c, b_fmul(c, ta, b_fadd(c, one, tb2)), den), b_fdiv(c, b_fmul(c, tb, b_fsub(c, one, ta2)), den) };
    return r;
}

/* tan z = -i tanh(iz) */
static cv ctan_(cg *c, cv x) {
    cv iz = { LLVMBuildFNeg(B, x.im, ""), x.re };
    cv t = ctanh_(c, iz);
    cv r = { t.im, LLVMBuildFNeg(B, t.re, "") };
    return r;
}

/* Complex power as the evaluator computes it (numpy's rules): z^0 = 1,
 * 0^b = 0 for real b > 0 and NaN otherwise, small integer exponents by
 * repeated squaring, exp(b log z) in general.  A constant exponent picks
 * its case at compile time. */
static cv cpow_(cg *c, cv x, cv y, const tx_lir_expr *ye) {
    LLVMValueRef one = one_of(x.re), zero = zero_of(x.re);
    if (ye->kind == TX_LIR_CONST && ye->im == 0 && ye->re >= -100 && ye->re <= 100 &&
        ye->re == (double)(int)ye->re) {
        int n = (int)ye->re;
        if (n == 0) return (cv){ one, zero };
        if (n == 1) return x;
        if (n == 2) return cmul(c, x, x);
        if (n == 3) return cmul(c, cmul(c, x, x), x);
        int m = n < 0 ? -n : n;
        cv acc = { one, zero }, p = x;
        bool first = true;
        for (int mask = 1;; mask <<= 1) {
            if (m & mask) {
                acc = first ? p : cmul(c, acc, p);
                first = false;
            }
            if (m < (mask << 1)) break;
            p = cmul(c, p, p);
        }
        /* the evaluator multiplies 1 by p first: exact, so skipping it agrees */
        return n < 0 ? cdiv(c, (cv){ one, zero }, acc) : acc;
    }
    cv g = cexp_(c, cmul(c, y, clog_(c, x)));
    LLVMValueRef nan = LLVMConstReal(LLVMTypeOf(x.re), NAN);
    LLVMValueRef x0 = LLVMBuildAnd(B, fcmp(c, LLVMRealOEQ, x.re, zero), fcmp(c, LLVMRealOEQ, x.im, zero), "");
    LLVMValueRef y0 = LLVMBuildAnd(B, fcmp(c, LLVMRealOEQ, y.re, zero), fcmp(c, LLVMRealOEQ, y.im, zero), "");
    LLVMValueRef ypos = LLVMBuildAnd(B, fcmp(c, LLVMRealOGT, y.re, zero), fcmp(c, LLVMRealOEQ, y.im, zero), "");
    LLVMValueRef z = sel(c, ypos, zero, nan);
    cv r = { sel(c, y0, one, sel(c, x0, z, g.re)), sel(c, y0, zero, sel(c, x0, z, g.im)) };
    return r;
}

/* ---- expressions ---------------------------------------------------------- */

/* c times a product of run-time sizes (the caller checked on entry that
 * every buffer size, and so every such product, fits in 63 bits: nsw). */
static LLVMValueRef sym_value(cg *c, int64_t k, const tx_lir_mono *m) {
    LLVMValueRef v = LLVMConstInt(c->i64, (unsigned long long)k, 1);
    for (int q = 0; m && q < m->n; q++) v = LLVMBuildNSWMul(B, v, c->symv[m->f[q]], "");
    return v;
}

static LLVMValueRef offset(cg *c, const tx_lir_affine *a, int64_t scale, int64_t add) {
    LLVMValueRef o = LLVMConstInt(c->i64, (unsigned long long)(a->c0 * scale + add), 1);
    for (int k = 0; k < a->nterms; k++) {
        const tx_lir_mono *m = a->sym ? &a->sym[k] : NULL;
        LLVMValueRef coef = m && m->n > 0 ? sym_value(c, a->coef[k] * scale, m)
                                          : LLVMConstInt(c->i64, (unsigned long long)(a->coef[k] * scale), 1);
        LLVMValueRef t = a->var[k] < 0 ? coef : LLVMBuildNSWMul(B, c->var[a->var[k]], coef, "");
        o = LLVMBuildNSWAdd(B, t, o, "");
    }
    return o;
}

static LLVMValueRef elem_ptr(cg *c, int buf, const tx_lir_affine *a, int part) {
    txrt_dtype dt = c->f->bufs[buf].dtype;
    bool cplx = tx_lir_is_complex(dt);
    LLVMValueRef o = offset(c, a, cplx ? 2 : 1, part);
    return LLVMBuildInBoundsGEP2(B, comp_type(c, dt), c->bufp[buf], &o, 1, "");
}

static LLVMValueRef load_part(cg *c, int buf, const tx_lir_affine *a, int part) {
    LLVMTypeRef t = comp_type(c, c->f->bufs[buf].dtype);
    LLVMValueRef v = LLVMBuildLoad2(B, t, elem_ptr(c, buf, a, part), "");
    LLVMSetAlignment(v, t == c->f32 ? 4 : 8);
    return v;
}

static void store_part(cg *c, int buf, const tx_lir_affine *a, int part, LLVMValueRef v) {
    LLVMValueRef s = LLVMBuildStore(B, v, elem_ptr(c, buf, a, part));
    LLVMSetAlignment(s, LLVMTypeOf(v) == c->f32 ? 4 : 8);
}

static bool expr(cg *c, const tx_lir_expr *e, cv *out);

static LLVMValueRef as_bool(cg *c, cv x) {
    LLVMValueRef k = fcmp(c, LLVMRealUNE, x.re, zero_of(x.re));
    if (x.im) k = LLVMBuildOr(B, k, fcmp(c, LLVMRealUNE, x.im, zero_of(x.im)), "");
    return k;
}

static bool unary(cg *c, const tx_lir_expr *e, cv x, cv *r) {
    bool cplx = x.im != NULL;
    LLVMValueRef v = x.re;
    r->im = NULL;
    if (cplx) {
        switch (e->op) {
        case TX_TOP_NEG: r->re = LLVMBuildFNeg(B, x.re, ""); r->im = LLVMBuildFNeg(B, x.im, ""); return true;
        case TX_TOP_CONJ: r->re = x.re; r->im = LLVMBuildFNeg(B, x.im, ""); return true;
        case TX_TOP_REAL: r->re = x.re; return true;
        case TX_TOP_IMAG: r->re = x.im; return true;
        case TX_TOP_ABS: r->re = lib2(c, "hypot", x.re, x.im); return true;
        case TX_TOP_EXP: *r = cexp_(c, x); return true;
        case TX_TOP_LOG: *r = clog_(c, x); return true;
        case TX_TOP_SQRT: *r = csqrt_(c, x); return true;
        case TX_TOP_SIN: *r = csin_(c, x); return true;
        case TX_TOP_COS: *r = ccos_(c, x); return true;
        case TX_TOP_TAN: *r = ctan_(c, x); return true;
        case TX_TOP_TANH: *r = ctanh_(c, x); return true;
        case TX_TOP_FLOOR: r->re = call1(c, "llvm.floor", x.re); r->im = call1(c, "llvm.floor", x.im); return true;
        case TX_TOP_CEIL: r->re = call1(c, "llvm.ceil", x.re); r->im = call1(c, "llvm.ceil", x.im); return true;
        case TX_TOP_RELU: *r = cmax(c, x, (cv){ zero_of(x.re), zero_of(x.re) }, true); return true;
        case TX_TOP_SIGN: {
            /* the sign in numpy's order: 1, -1, 0 for 0, NaN otherwise; imaginary part 0 */
            cv z = { zero_of(x.re), zero_of(x.re) };
            LLVMValueRef zero = LLVMBuildAnd(B, fcmp(c, LLVMRealOEQ, x.re, z.re), fcmp(c, LLVMRealOEQ, x.im, z.im), "");
            LLVMValueRef t = sel(c, zero, z.re, LLVMConstReal(LLVMTypeOf(x.re), NAN));
            t = sel(c, ccmp(c, TX_TOP_LT, x, z), fconst(c, LLVMTypeOf(x.re), -1.0), t);
            r->re = sel(c, ccmp(c, TX_TOP_GT, x, z), one_of(x.re), t);
            r->im = z.im;
            return true;
        }
        case TX_TOP_SIGMOID: {
            /* 1 / (1 + exp(-z)) */
            LLVMValueRef one = one_of(x.re), zero = zero_of(x.re);
            cv ez = cexp_(c, (cv){ LLVMBuildFNeg(B, x.re, ""), LLVMBuildFNeg(B, x.im, "") });
            *r = cdiv(c, (cv){ one, zero }, (cv){ b_fadd(c, one, ez.re), ez.im });
            return true;
        }
        default: return fail(c, "operation not defined for complex values");
        }
    }
    switch (e->op) {
    case TX_TOP_NEG: r->re = LLVMBuildFNeg(B, v, ""); return true;
    case TX_TOP_EXP: r->re = call1(c, "llvm.exp", v); return true;
    case TX_TOP_LOG: r->re = call1(c, "llvm.log", v); return true;
    case TX_TOP_SQRT: r->re = call1(c, "llvm.sqrt", v); return true;
    case TX_TOP_ABS: r->re = call1(c, "llvm.fabs", v); return true;
    case TX_TOP_SIN: r->re = call1(c, "llvm.sin", v); return true;
    case TX_TOP_COS: r->re = call1(c, "llvm.cos", v); return true;
    case TX_TOP_TAN: r->re = lib1(c, "tan", v); return true;
    case TX_TOP_TANH: r->re = lib1(c, "tanh", v); return true;
    case TX_TOP_FLOOR: r->re = call1(c, "llvm.floor", v); return true;
    case TX_TOP_CEIL: r->re = call1(c, "llvm.ceil", v); return true;
    case TX_TOP_CONJ: case TX_TOP_REAL: r->re = v; return true;
    case TX_TOP_IMAG: r->re = zero_of(v); return true;
    case TX_TOP_SIGMOID:
        /* 1 / (1 + exp(-x)) */
        r->re = b_fdiv(c, one_of(v), b_fadd(c, one_of(v), call1(c, "llvm.exp", LLVMBuildFNeg(B, v, ""))));
        return true;
    case TX_TOP_RELU:
        r->re = rmax(c, v, zero_of(v));
        return true;
    case TX_TOP_SIGN: {
        /* 1, -1, 0 for +-0, NaN for NaN (numpy's sign) */
        LLVMValueRef t = sel(c, fcmp(c, LLVMRealOEQ, v, zero_of(v)), zero_of(v), v);
        t = sel(c, fcmp(c, LLVMRealOLT, v, zero_of(v)), fconst(c, LLVMTypeOf(v), -1.0), t);
        r->re = sel(c, fcmp(c, LLVMRealOGT, v, zero_of(v)), one_of(v), t);
        return true;
    }
    default:
        return fail(c, "unknown unary operation");
    }
}

static bool binary(cg *c, const tx_lir_expr *e, cv x, cv y, cv *r) {
    bool cplx = x.im != NULL;
    LLVMTypeRef rt = comp_type(c, e->dtype);
    r->im = NULL;
    if (cplx) {
        switch (e->op) {
        case TX_TOP_ADD: r->re = b_fadd(c, x.re, y.re); r->im = b_fadd(c, x.im, y.im); return true;
        case TX_TOP_SUB: r->re = b_fsub(c, x.re, y.re); r->im = b_fsub(c, x.im, y.im); return true;
        case TX_TOP_MUL: *r = cmul(c, x, y); return true;
        case TX_TOP_DIV: *r = cdiv(c, x, y); return true;
        case TX_TOP_POW: *r = cpow_(c, x, y, e->b); return true;
        case TX_TOP_LT: case TX_TOP_LE: case TX_TOP_GT: case TX_TOP_GE:
            r->re = b2f(c, ccmp(c, e->op, x, y), rt);
            return true;
        case TX_TOP_MAX2: *r = cmax(c, x, y, true); return true;
        case TX_TOP_MIN2: *r = cmax(c, x, y, false); return true;
        case TX_TOP_EQ:
        case TX_TOP_NE: {
            LLVMValueRef k = LLVMBuildAnd(B, fcmp(c, LLVMRealOEQ, x.re, y.re), fcmp(c, LLVMRealOEQ, x.im, y.im), "");
            if (e->op == TX_TOP_NE) k = LLVMBuildNot(B, k, "");
            r->re = b2f(c, k, rt);
            return true;
        }
        default: return fail(c, "operation not defined for complex values");
        }
    }
    switch (e->op) {
    case TX_TOP_ADD: r->re = b_fadd(c, x.re, y.re); return true;
    case TX_TOP_SUB: r->re = b_fsub(c, x.re, y.re); return true;
    case TX_TOP_MUL: r->re = b_fmul(c, x.re, y.re); return true;
    case TX_TOP_DIV: r->re = b_fdiv(c, x.re, y.re); return true;
    case TX_TOP_POW: r->re = call2(c, "llvm.pow", x.re, y.re); return true;
    case TX_TOP_LT: r->re = b2f(c, fcmp(c, LLVMRealOLT, x.re, y.re), rt); return true;
    case TX_TOP_LE: r->re = b2f(c, fcmp(c, LLVMRealOLE, x.re, y.re), rt); return true;
    case TX_TOP_GT: r->re = b2f(c, fcmp(c, LLVMRealOGT, x.re, y.re), rt); return true;
    case TX_TOP_GE: r->re = b2f(c, fcmp(c, LLVMRealOGE, x.re, y.re), rt); return true;
    case TX_TOP_EQ: r->re = b2f(c, fcmp(c, LLVMRealOEQ, x.re, y.re), rt); return true;
    case TX_TOP_NE: r->re = b2f(c, fcmp(c, LLVMRealUNE, x.re, y.re), rt); return true;
    case TX_TOP_MAX2: r->re = rmax(c, x.re, y.re); return true;
    case TX_TOP_MIN2: r->re = rmin(c, x.re, y.re); return true;
    default: return fail(c, "unknown binary operation");
    }
}

static bool cast(cg *c, cv x, txrt_dtype from, txrt_dtype to, cv *r) {
    LLVMTypeRef t = comp_type(c, to);
    LLVMValueRef re = x.re, im = x.im;
    if (comp_type(c, from) != t) {
        re = single(to) ? LLVMBuildFPTrunc(B, re, t, "") : LLVMBuildFPExt(B, re, t, "");
        if (im) im = single(to) ? LLVMBuildFPTrunc(B, im, t, "") : LLVMBuildFPExt(B, im, t, "");
    }
    if (tx_lir_is_complex(to)) {
        if (!im) im = LLVMConstReal(t, 0.0);
    } else if (im) {
        return fail(c, "complex value converted to a real dtype");
    }
    r->re = re;
    r->im = im;
    return true;
}

static bool expr(cg *c, const tx_lir_expr *e, cv *out) {
    cv x, y, z;
    out->im = NULL;
    switch (e->kind) {
    case TX_LIR_CONST: {
        LLVMTypeRef t = comp_type(c, e->dtype);
        out->re = fconst(c, t, e->re);
        if (tx_lir_is_complex(e->dtype)) out->im = fconst(c, t, e->im);
        return true;
    }
    case TX_LIR_INDEX:
        out->re = LLVMBuildSIToFP(B, c->var[e->var], c->f64, "");
        return true;
    case TX_LIR_LOAD:
        out->re = load_part(c, e->buf, &e->off, 0);
        if (tx_lir_is_complex(e->dtype)) out->im = load_part(c, e->buf, &e->off, 1);
        return true;
    case TX_LIR_ACC: {
        LLVMTypeRef t = comp_type(c, e->dtype);
        out->re = LLVMBuildLoad2(B, t, c->acc_re[e->acc], "");
        if (c->acc_im[e->acc]) out->im = LLVMBuildLoad2(B, t, c->acc_im[e->acc], "");
        return true;
    }
    case TX_LIR_UNARY:
        return expr(c, e->a, &x) && unary(c, e, x, out);
    case TX_LIR_BINARY:
        return expr(c, e->a, &x) && expr(c, e->b, &y) && binary(c, e, x, y, out);
    case TX_LIR_SELECT: {
        if (!expr(c, e->a, &x) || !expr(c, e->b, &y) || !expr(c, e->c, &z)) return false;
        LLVMValueRef k = as_bool(c, x);
        out->re = sel(c, k, y.re, z.re);
        if (y.im) out->im = sel(c, k, y.im, z.im);
        return true;
    }
    case TX_LIR_CAST:
        return expr(c, e->a, &x) && cast(c, x, e->a->dtype, e->dtype, out);
    }
    return fail(c, "unknown expression kind");
}

/* ---- statements ------------------------------------------------------------ */

static void set_fmf(LLVMValueRef v, LLVMFastMathFlags f) {
    if (LLVMIsAInstruction(v) && LLVMCanValueUseFastMathFlags(v))
        LLVMSetFastMathFlags(v, LLVMGetFastMathFlags(v) | f);
}

/* Reassociation (and contraction) are allowed on accumulate steps only. */
#define RED_FMF (LLVMFastMathAllowReassoc | LLVMFastMathAllowContract)

/* A product feeding a sum may fuse with it into an FMA. */
static void contract_term(LLVMValueRef v) {
    if (LLVMIsAInstruction(v) && LLVMGetInstructionOpcode(v) == LLVMFMul) set_fmf(v, LLVMFastMathAllowContract);
}

static bool accum(cg *c, const tx_lir_stmt *s) {
    const tx_lir_acc *a = &c->f->accs[s->acc];
    cv v, acc;
    if (!expr(c, s->value, &v)) return false;
    LLVMTypeRef t = comp_type(c, a->dtype);
    acc.re = LLVMBuildLoad2(B, t, c->acc_re[s->acc], "");
    acc.im = c->acc_im[s->acc] ? LLVMBuildLoad2(B, t, c->acc_im[s->acc], "") : NULL;
    cv r = { NULL, NULL };
    switch (a->op) {
    case TX_RED_SUM:
        contract_term(v.re);
        r.re = b_fadd(c, acc.re, v.re);
        set_fmf(r.re, RED_FMF);
        if (acc.im) {
            contract_term(v.im);
            r.im = b_fadd(c, acc.im, v.im);
            set_fmf(r.im, RED_FMF);
        }
        break;
    case TX_RED_PROD:
        if (acc.im) {
            r = cmul(c, acc, v);
            /* the four products and two sums of the complex step */
            set_fmf(r.re, RED_FMF);
            set_fmf(r.im, RED_FMF);
        } else {
            r.re = b_fmul(c, acc.re, v.re);
            set_fmf(r.re, RED_FMF);
        }
        break;
    case TX_RED_MAX:
    case TX_RED_MIN:
        if (acc.im) { /* lexicographic: no reassociation, no vectors */
            r = cmax(c, acc, v, a->op == TX_RED_MAX);
            break;
        }
        /* llvm.maximum propagates NaN like the evaluator's max */
        r.re = call2(c, a->op == TX_RED_MAX ? "llvm.maximum" : "llvm.minimum", acc.re, v.re);
        set_fmf(r.re, RED_FMF);
        break;
    }
    LLVMBuildStore(B, r.re, c->acc_re[s->acc]);
    if (r.im) LLVMBuildStore(B, r.im, c->acc_im[s->acc]);
    return true;
}

/* A reduction the fuser keeps in a row of memory (tx_lir_row_update): the
 * step v of store s contracts (product + row -> FMA) like an accumulate's. */
static void row_update_fma(cg *c, const tx_lir_stmt *s, LLVMValueRef v) {
    if (!tx_lir_row_update(c->f, s, NULL)) return;
    unsigned n = LLVMIsAInstruction(v) ? (unsigned)LLVMGetNumOperands(v) : 0;
    for (unsigned q = 0; q < n && q < 2; q++) contract_term(LLVMGetOperand(v, q));
    set_fmf(v, LLVMFastMathAllowContract);
}

/* ---- vector groups ----------------------------------------------------------
 * Statements ir/lir_lanes.c found to be the lanes of one operation are
 * emitted as one: a load that steps by one element per lane is a vector
 * load, one that does not a broadcast, an accumulator group a vector
 * (acc_allocas), a store stepping by one a vector store.  Only the
 * operations match() accepts get here, all of which build the same on
 * vectors as on scalars (unary, binary). */

static LLVMValueRef splat(cg *c, LLVMValueRef x, int w) {
    LLVMTypeRef i32 = LLVMInt32TypeInContext(c->ctx);
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)w);
    LLVMValueRef v = LLVMBuildInsertElement(B, LLVMGetPoison(vt), x, LLVMConstInt(i32, 0, 0), "");
    return LLVMBuildShuffleVector(B, v, LLVMGetPoison(vt), LLVMConstNull(LLVMVectorType(i32, (unsigned)w)), "");
}

static LLVMValueRef vload(cg *c, LLVMTypeRef t, int w, LLVMValueRef p, bool whole_group) {
    LLVMValueRef v = LLVMBuildLoad2(B, LLVMVectorType(t, (unsigned)w), p, "");
    unsigned sz = t == c->f32 ? 4 : 8;
    LLVMSetAlignment(v, whole_group ? sz * (unsigned)w : sz);
    return v;
}

/* The vector of the w lanes of a value, from lane 0's tree e0 and lane 1's
 * e1 (which tell each load's step). */
static bool vexpr(cg *c, const tx_lir_expr *e0, const tx_lir_expr *e1, int w, LLVMValueRef *out) {
    LLVMTypeRef t = comp_type(c, e0->dtype);
    cv x, y, r;
    switch (e0->kind) {
    case TX_LIR_CONST:
        *out = splat(c, fconst(c, t, e0->re), w);
        return true;
    case TX_LIR_LOAD:
        *out = e1->off.c0 == e0->off.c0 ? splat(c, load_part(c, e0->buf, &e0->off, 0), w)
                                        : vload(c, t, w, elem_ptr(c, e0->buf, &e0->off, 0), false);
        return true;
    case TX_LIR_ACC:
        /* one accumulator for every lane, or lane t reads lane t of a group */
        *out = e0->acc == e1->acc ? splat(c, LLVMBuildLoad2(B, t, c->acc_re[e0->acc], ""), w)
                                  : vload(c, t, w, c->acc_re[e0->acc], true);
        return true;
    case TX_LIR_UNARY:
        if (!vexpr(c, e0->a, e1->a, w, &x.re)) return false;
        x.im = NULL;
        if (!unary(c, e0, x, &r)) return false;
        *out = r.re;
        return true;
    case TX_LIR_BINARY:
        if (!vexpr(c, e0->a, e1->a, w, &x.re) || !vexpr(c, e0->b, e1->b, w, &y.re)) return false;
        x.im = y.im = NULL;
        if (!binary(c, e0, x, y, &r)) return false;
        *out = r.re;
        return true;
    default:
        return fail(c, "a vector group with an expression it cannot hold");
    }
}

static bool vgroup(cg *c, const tx_lir_stmt *const *lanes, int w) {
    const tx_lir_stmt *s0 = lanes[0];
    LLVMValueRef v;
    if (!vexpr(c, s0->value, lanes[1]->value, w, &v)) return false;
    if (s0->kind == TX_LIR_STORE) {
        row_update_fma(c, s0, v);   /* lane t updates its own element */
        LLVMValueRef st = LLVMBuildStore(B, v, elem_ptr(c, s0->buf, &s0->off, 0));
        LLVMSetAlignment(st, c->f->bufs[s0->buf].dtype == TXRT_F32 ? 4 : 8);
        return true;
    }
    /* lane t accumulates into lane t of the group whose lane 0 is s0's */
    const tx_lir_acc *a = &c->f->accs[s0->acc];
    LLVMValueRef p = c->acc_re[s0->acc], r;
    LLVMValueRef acc = vload(c, comp_type(c, a->dtype), w, p, true);
    switch (a->op) {
    case TX_RED_SUM:
        contract_term(v);
        r = b_fadd(c, acc, v);
        break;
    case TX_RED_PROD:
        r = b_fmul(c, acc, v);
        break;
    default:
        r = call2(c, a->op == TX_RED_MAX ? "llvm.maximum" : "llvm.minimum", acc, v);
        break;
    }
    set_fmf(r, RED_FMF);
    LLVMSetAlignment(LLVMBuildStore(B, r, p), LLVMGetAlignment(acc));
    return true;
}

static bool block(cg *c, const tx_lir_block *blk);

/* Is accumulator acc initialised by a statement of b (so it lives within
 * one pass through b: a let-bound value or a reduction nested inside)? */
static bool inits_acc(const tx_lir_block *b, int acc) {
    for (int k = 0; k < b->n; k++)
        if (b->stmts[k]->kind == TX_LIR_ACC_INIT && b->stmts[k]->acc == acc) return true;
    return false;
}

/* Does a block in b accumulate into several accumulators side by side (a
 * register tile built by unroll-and-jam)?  The tile's accumulators are
 * initialised outside the block that advances them; one initialised in
 * the same block (the fuser's let-bound values, a reduction restarted
 * every iteration) is not part of a tile, and counting it would keep an
 * ordinary loop like `for k { v = exp(x[k]); s += v }` from vectorising. */
static bool jammed(const tx_lir_block *b) {
    int nacc = 0;
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_ACCUM && !inits_acc(b, s->acc) && ++nacc >= 2) return true;
        if (s->kind == TX_LIR_LOOP && jammed(&s->body)) return true;
    }
    return false;
}

/* Does e call a libm function the vectoriser can only scalarise (exp,
 * sin, ...) when there is no vector math (tx_cg_vecmath)? */
static bool calls_libm(const tx_lir_expr *e) {
    if (!e) return false;
    if (e->kind == TX_LIR_UNARY || e->kind == TX_LIR_BINARY) {
        bool cplx = tx_lir_is_complex(e->a->dtype);
        switch (e->op) {
        case TX_TOP_EXP: case TX_TOP_LOG: case TX_TOP_SIN: case TX_TOP_COS: case TX_TOP_TAN:
        case TX_TOP_TANH: case TX_TOP_POW: case TX_TOP_SIGMOID:
            return true;
        case TX_TOP_SQRT: case TX_TOP_ABS: /* hypot */
            if (cplx) return true;
            break;
        default:
            break;
        }
    }
    return calls_libm(e->a) || calls_libm(e->b) || calls_libm(e->c);
}

static bool block_calls_libm(const tx_lir_block *b) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP ? block_calls_libm(&s->body) : calls_libm(s->value)) return true;
    }
    return false;
}

/* Loop hints, attached as !llvm.loop !{self, hints...} to a latch branch.
 *
 * novec: !{"llvm.loop.vectorize.enable", false}.  Loops of a register tile
 * carry it: the tile's copies are the vector dimension (the SLP vectoriser
 * packs them), and vectorising the reduction loop around them instead
 * would gather across rows.  So do loops calling libm functions when there
 * is no vector math: vectorised, each call is scalarised between lane
 * extracts, spills and vzerouppers -- no faster than the scalar loop
 * (bench/floor/elementwise: 13.5 vs 13.3 ms) and bigger and slower to
 * compile.  With vector math every function calls_libm names has libmvec
 * variants.
 *
 * full: !{"llvm.loop.unroll.full"}, see unroll_early. */
static void loop_hints(cg *c, LLVMValueRef br, bool novec, bool full) {
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(c->ctx, NULL, 0);
    LLVMMetadataRef ops[3] = { tmp };
    size_t n = 1;
    if (novec) {
        LLVMMetadataRef opt[2] = {
            LLVMMDStringInContext2(c->ctx, "llvm.loop.vectorize.enable", 26),
            LLVMValueAsMetadata(LLVMConstInt(LLVMInt1TypeInContext(c->ctx), 0, 0)),
        };
        ops[n++] = LLVMMDNodeInContext2(c->ctx, opt, 2);
    }
    if (full) {
        LLVMMetadataRef opt[1] = { LLVMMDStringInContext2(c->ctx, "llvm.loop.unroll.full", 21) };
        ops[n++] = LLVMMDNodeInContext2(c->ctx, opt, 1);
    }
    LLVMMetadataRef id = LLVMMDNodeInContext2(c->ctx, ops, n);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(c->ctx, "llvm.loop", 9), LLVMMetadataAsValue(c->ctx, id));
}

/* Expression nodes of e, complex ones twice (about the scalar operations
 * each becomes). */
static int expr_nodes(const tx_lir_expr *e) {
    if (!e) return 0;
    return (tx_lir_is_complex(e->dtype) ? 2 : 1) + expr_nodes(e->a) + expr_nodes(e->b) + expr_nodes(e->c);
}

/* Innermost loops at most this long, whose unrolled body has at most this
 * many expression nodes, are unrolled before the vectoriser runs. */
#define EARLY_UNROLL_TRIPS 32
#define EARLY_UNROLL_NODES 384

/* Should the innermost loop s be fully unrolled early?  Since codegen runs
 * LLVM's unroller only after the vectoriser (target.c), a short innermost
 * reduction loop would otherwise be what gets vectorised: a sum over 24
 * values becomes three vector iterations and a horizontal sum, once per
 * iteration of the loop around it.  Unrolled first, the loop around it vectorises
 * instead (graph_poly's P5 at n = 24: 0.17 ms, against 0.26 ms).  Only
 * innermost loops carry the hint, so nests are not flattened level after
 * level as default<O3>'s own full unroller did (the compile-time problem
 * of examples/attention/taylor.tx).  Loops that only store are left alone:
 * they vectorise well as they are, and unrolled first (a 24x24 transpose)
 * they turn into interleaved accesses that take 2-3 times longer to
 * compile for nothing. */
static bool unroll_early(const tx_lir_stmt *s) {
    /* a run-time trip count (size-generic code) cannot be fully unrolled */
    if (s->extent > EARLY_UNROLL_TRIPS || s->sym_extent.n > 0) return false;
    int nodes = 0;
    bool reduces = false;
    for (int k = 0; k < s->body.n; k++) {
        const tx_lir_stmt *t = s->body.stmts[k];
        if (t->kind == TX_LIR_LOOP) return false;
        reduces |= t->kind == TX_LIR_ACCUM;
        nodes += 1 + expr_nodes(t->value);
    }
    return reduces && (int64_t)nodes * s->extent <= EARLY_UNROLL_NODES;
}

/* for v in lo .. hi-1 (lo < hi), bottom-tested. */
static bool emit_loop(cg *c, const tx_lir_stmt *s, LLVMValueRef lo, LLVMValueRef hi) {
    const char *name = c->f->vars[s->var].name;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, name);
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "");
    LLVMBuildBr(B, body);
    LLVMPositionBuilderAtEnd(B, body);
    LLVMValueRef iv = LLVMBuildPhi(B, c->i64, name);
    LLVMAddIncoming(iv, &lo, &pre, 1);
    c->var[s->var] = iv;
    c->depth++;
    if (!block(c, &s->body)) return false;
    c->depth--;
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(B);
    LLVMValueRef next = LLVMBuildNSWAdd(B, iv, LLVMConstInt(c->i64, 1, 0), "");
    LLVMValueRef br = LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, next, hi, ""), body, done);
    bool novec = jammed(&s->body) || (c->vm == TX_CG_VECMATH_NONE && block_calls_libm(&s->body));
    bool full = !jammed(&s->body) && unroll_early(s);
    if (novec || full) loop_hints(c, br, novec, full);
    LLVMAddIncoming(iv, &next, &latch, 1);
    LLVMPositionBuilderAtEnd(B, done);
    c->var[s->var] = NULL;
    return true;
}

static bool loop(cg *c, const tx_lir_stmt *s) {
    if (s->extent <= 0) return true;
    if (s->sym_extent.n > 0) {
        /* run-time trip count: test it before entering the bottom-tested loop */
        LLVMValueRef lo = LLVMConstInt(c->i64, (unsigned long long)s->lo, 1);
        LLVMValueRef hi = LLVMBuildNSWAdd(B, lo, sym_value(c, s->extent, &s->sym_extent), "");
        LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "");
        LLVMBasicBlockRef skip = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, lo, hi, ""), run, skip);
        LLVMPositionBuilderAtEnd(B, run);
        if (!emit_loop(c, s, lo, hi)) return false;
        LLVMBuildBr(B, skip);
        LLVMPositionBuilderAtEnd(B, skip);
        return true;
    }
    return emit_loop(c, s, LLVMConstInt(c->i64, (unsigned long long)s->lo, 1),
                     LLVMConstInt(c->i64, (unsigned long long)(s->lo + s->extent), 1));
}

static void add_param_attr(cg *c, LLVMValueRef fn, unsigned idx, const char *name);

/* Give fn's first nbufs parameters the buffers' names and attributes
 * (noalias, nocapture, readonly inputs) and make them c->bufp. */
static void buffer_params(cg *c, LLVMValueRef fn) {
    const tx_lir_func *f = c->f;
    for (int k = 0; k < f->nbufs; k++) {
        c->bufp[k] = LLVMGetParam(fn, (unsigned)k);
        LLVMSetValueName2(c->bufp[k], f->bufs[k].name, strlen(f->bufs[k].name));
        add_param_attr(c, fn, (unsigned)k + 1, "noalias");
        add_param_attr(c, fn, (unsigned)k + 1, "nocapture");
        if (!f->bufs[k].output) add_param_attr(c, fn, (unsigned)k + 1, "readonly");
    }
}

/* One alloca per accumulator (part) in the current function's entry block. */
static void acc_allocas(cg *c) {
    const tx_lir_func *f = c->f;
    LLVMValueRef *group_vec = calloc((size_t)tx_lir_lanes_count(c->lanes) + 1, sizeof *group_vec);
    for (int k = 0; k < f->naccs; k++) {
        LLVMTypeRef t = comp_type(c, f->accs[k].dtype);
        char nm[32];
        snprintf(nm, sizeof nm, "acc%d", k);
        int lane, width, g = group_vec ? tx_lir_lanes_acc_group(c->lanes, k, &lane, &width) : -1;
        if (g >= 0) {
            /* a lane of an accumulator group: an element of the group's
             * vector, which vector statements load and store whole */
            if (!group_vec[g]) {
                group_vec[g] = LLVMBuildAlloca(B, LLVMVectorType(t, (unsigned)width), nm);
                LLVMSetAlignment(group_vec[g], (unsigned)(width * (t == c->f32 ? 4 : 8)));
            }
            LLVMValueRef i = LLVMConstInt(c->i64, (unsigned long long)lane, 0);
            c->acc_re[k] = LLVMBuildInBoundsGEP2(B, t, group_vec[g], &i, 1, nm);
            c->acc_im[k] = NULL;
            continue;
        }
        c->acc_re[k] = LLVMBuildAlloca(B, t, nm);
        c->acc_im[k] = tx_lir_is_complex(f->accs[k].dtype) ? LLVMBuildAlloca(B, t, nm) : NULL;
    }
    free(group_vec);
}

/* A parallel loop at the top level of the kernel becomes
 *
 *     internal void SYM.parN.body(noalias bufs..., i64 lo, i64 hi)  -- alwaysinline:
 *         for v in s->lo+lo .. s->lo+hi { body }
 *     internal void SYM.parN(ptr ctx, i64 lo, i64 hi)              -- loads bufs from ctx
 *     ... call txrt_parallel_for(extent, SYM.parN, ctx)            -- in the kernel
 *
 * ctx is an array of the buffer pointers on the kernel's stack.  Each
 * chunk has its own accumulators (allocas of the chunk function), which is
 * all a loop with independent iterations needs, and its own copy of the
 * buffers the scheduler made private (s->private_bufs: per-row scratch of
 * a fused kernel), allocated on the chunk function's stack.  The body function keeps
 * the noalias parameters, as the kernel's own body does. */
static bool parallel_loop(cg *c, const tx_lir_stmt *s) {
    if (s->extent <= 0) return true;
    if (c->f->nsyms > 0) return fail(c, "parallel loops in size-generic kernels are not supported");
    const tx_lir_func *f = c->f;
    int nb = f->nbufs, id = c->npar++;
    size_t nlen = strlen(c->sym) + 32;
    char *name = malloc(nlen);
    LLVMTypeRef *pt = calloc((size_t)nb + 2, sizeof *pt);
    LLVMValueRef *bufp = calloc((size_t)nb + 1, sizeof *bufp);
    LLVMValueRef *acc_re = calloc((size_t)f->naccs + 1, sizeof *acc_re);
    LLVMValueRef *acc_im = calloc((size_t)f->naccs + 1, sizeof *acc_im);
    if (!name || !pt || !bufp || !acc_re || !acc_im) {
        free(name), free(pt), free(bufp), free(acc_re), free(acc_im);
        return fail(c, "out of memory");
    }
    /* the chunk body */
    for (int k = 0; k < nb; k++) pt[k] = c->ptr;
    pt[nb] = pt[nb + 1] = c->i64;
    snprintf(name, nlen, "%s.par%d.body", c->sym, id);
    LLVMValueRef bfn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->voidt, pt, (unsigned)nb + 2, 0));
    LLVMSetLinkage(bfn, LLVMInternalLinkage);
    add_fn_attr(c, bfn, "alwaysinline");
    add_fn_attr(c, bfn, "nounwind");
    struct { LLVMValueRef fn, *bufp, *acc_re, *acc_im; LLVMBasicBlockRef entry, at; } saved = {
        c->fn, c->bufp, c->acc_re, c->acc_im, c->entry, LLVMGetInsertBlock(B)
    };
    c->fn = bfn;
    c->bufp = bufp;
    c->acc_re = acc_re;
    c->acc_im = acc_im;
    buffer_params(c, bfn);
    c->entry = LLVMAppendBasicBlockInContext(c->ctx, bfn, "entry");
    LLVMPositionBuilderAtEnd(B, c->entry);
    acc_allocas(c);
    LLVMValueRef off = LLVMConstInt(c->i64, (unsigned long long)s->lo, 1);
    LLVMValueRef lo = LLVMBuildNSWAdd(B, LLVMGetParam(bfn, (unsigned)nb), off, "lo");
    LLVMValueRef hi = LLVMBuildNSWAdd(B, LLVMGetParam(bfn, (unsigned)nb + 1), off, "hi");
    bool ok = emit_loop(c, s, lo, hi);
    if (ok) LLVMBuildRetVoid(B);
    /* the chunk function txrt_parallel_for calls */
    LLVMTypeRef cpt[3] = { c->ptr, c->i64, c->i64 };
    LLVMTypeRef cfty = LLVMFunctionType(c->voidt, cpt, 3, 0);
    snprintf(name, nlen, "%s.par%d", c->sym, id);
    LLVMValueRef cfn = LLVMAddFunction(c->mod, name, cfty);
    LLVMSetLinkage(cfn, LLVMInternalLinkage);
    add_fn_attr(c, cfn, "nounwind");
    if (ok) {
        LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(c->ctx, cfn, "entry"));
        LLVMValueRef ctxp = LLVMGetParam(cfn, 0);
        LLVMValueRef all[nb + 2];
        for (int k = 0; k < nb; k++) {
            if ((s->private_bufs && s->private_bufs[k]) || f->bufs[k].local) {   /* this chunk's own, on its stack */
                size_t bytes = (size_t)f->bufs[k].size * txrt_dtype_size(f->bufs[k].dtype);
                all[k] = LLVMBuildArrayAlloca(B, LLVMInt8TypeInContext(c->ctx),
                                              LLVMConstInt(c->i64, (unsigned long long)bytes, 0), f->bufs[k].name);
                LLVMSetAlignment(all[k], 64);
                continue;
            }
            LLVMValueRef i = LLVMConstInt(c->i64, (unsigned long long)k, 0);
            all[k] = LLVMBuildLoad2(B, c->ptr, LLVMBuildInBoundsGEP2(B, c->ptr, ctxp, &i, 1, ""), f->bufs[k].name);
            LLVMSetAlignment(all[k], 8);
        }
        all[nb] = LLVMGetParam(cfn, 1);
        all[nb + 1] = LLVMGetParam(cfn, 2);
        LLVMBuildCall2(B, LLVMGlobalGetValueType(bfn), bfn, all, (unsigned)nb + 2, "");
        LLVMBuildRetVoid(B);
    }
    c->fn = saved.fn;
    c->bufp = saved.bufp;
    c->acc_re = saved.acc_re;
    c->acc_im = saved.acc_im;
    c->entry = saved.entry;
    free(name), free(pt), free(bufp), free(acc_re), free(acc_im);
    if (!ok) return false;
    /* the call: ctx on the kernel's stack (allocated in its entry block) */
    LLVMBuilderRef eb = LLVMCreateBuilderInContext(c->ctx);
    LLVMValueRef first = LLVMGetFirstInstruction(c->entry);
    if (first) LLVMPositionBuilderBefore(eb, first);
    else LLVMPositionBuilderAtEnd(eb, c->entry);
    LLVMValueRef ctxa = LLVMBuildArrayAlloca(eb, c->ptr, LLVMConstInt(c->i64, (unsigned long long)(nb > 0 ? nb : 1), 0),
                                             "par.ctx");
    LLVMSetAlignment(ctxa, 8);
    LLVMDisposeBuilder(eb);
    LLVMPositionBuilderAtEnd(B, saved.at);
    for (int k = 0; k < nb; k++) {
        LLVMValueRef i = LLVMConstInt(c->i64, (unsigned long long)k, 0);
        LLVMBuildStore(B, c->bufp[k], LLVMBuildInBoundsGEP2(B, c->ptr, ctxa, &i, 1, ""));
    }
    LLVMTypeRef ppt[3] = { c->i64, c->ptr, c->ptr };
    LLVMTypeRef pfty = LLVMFunctionType(c->voidt, ppt, 3, 0);
    LLVMValueRef pfn = LLVMGetNamedFunction(c->mod, "txrt_parallel_for");
    if (!pfn) {
        pfn = LLVMAddFunction(c->mod, "txrt_parallel_for", pfty);
        add_fn_attr(c, pfn, "nounwind");
    }
    LLVMValueRef pargs[3] = { LLVMConstInt(c->i64, (unsigned long long)s->extent, 1), cfn, ctxa };
    LLVMBuildCall2(B, pfty, pfn, pargs, 3, "");
    return true;
}

static bool block(cg *c, const tx_lir_block *blk) {
    for (int k = 0; k < blk->n; k++) {
        const tx_lir_stmt *s = blk->stmts[k];
        int w;
        bool member;
        const tx_lir_stmt *const *lanes = tx_lir_lanes_at(c->lanes, s, &w, &member);
        if (member) continue;   /* emitted with its group, where the group's last lane stands */
        if (lanes) {
            if (!vgroup(c, lanes, w)) return false;
            continue;
        }
        switch (s->kind) {
        case TX_LIR_LOOP:
            /* only top-level loops run in parallel; nested marks run serially */
            if (!(s->parallel && c->depth == 0 ? parallel_loop(c, s) : loop(c, s))) return false;
            break;
        case TX_LIR_ACC_INIT: {
            const tx_lir_acc *a = &c->f->accs[s->acc];
            LLVMTypeRef t = comp_type(c, a->dtype);
            LLVMBuildStore(B, LLVMConstReal(t, tx_lir_identity(a->op)), c->acc_re[s->acc]);
            if (c->acc_im[s->acc]) LLVMBuildStore(B, LLVMConstReal(t, 0.0), c->acc_im[s->acc]);
            break;
        }
        case TX_LIR_ACCUM:
            if (!accum(c, s)) return false;
            break;
        case TX_LIR_STORE: {
            cv v;
            if (!expr(c, s->value, &v)) return false;
            row_update_fma(c, s, v.re);
            store_part(c, s->buf, &s->off, 0, v.re);
            if (tx_lir_is_complex(c->f->bufs[s->buf].dtype)) {
                if (!v.im) return fail(c, "real value stored as complex");
                store_part(c, s->buf, &s->off, 1, v.im);
            }
            break;
        }
        }
    }
    return true;
}

/* ---- functions ------------------------------------------------------------- */

static void add_param_attr(cg *c, LLVMValueRef fn, unsigned idx, const char *name) {
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(c->ctx, kind, 0));
}

static bool body_function(cg *c, const char *sym) {
    const tx_lir_func *f = c->f;
    int nb = f->nbufs;
    bool generic = f->nsyms > 0;   /* then a last parameter: const int64_t *sizes */
    LLVMTypeRef *pt = calloc((size_t)(nb + 1), sizeof *pt);
    for (int k = 0; k <= nb; k++) pt[k] = c->ptr;
    char *name = malloc(strlen(sym) + 8);
    sprintf(name, "%s.body", sym);
    c->fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->voidt, pt, (unsigned)(nb + generic), 0));
    free(name);
    free(pt);
    LLVMSetLinkage(c->fn, LLVMInternalLinkage);
    add_fn_attr(c, c->fn, "alwaysinline");
    add_fn_attr(c, c->fn, "nounwind");
    buffer_params(c, c->fn);
    c->entry = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "entry");
    LLVMPositionBuilderAtEnd(B, c->entry);
    acc_allocas(c);
    if (generic) {   /* the sizes, loaded once: loop bounds and strides use them */
        LLVMValueRef sp = LLVMGetParam(c->fn, (unsigned)nb);
        LLVMSetValueName2(sp, "sizes", 5);
        add_param_attr(c, c->fn, (unsigned)nb + 1, "noalias");
        add_param_attr(c, c->fn, (unsigned)nb + 1, "readonly");
        for (int k = 0; k < f->nsyms; k++) {
            LLVMValueRef i = LLVMConstInt(c->i64, (unsigned long long)k, 0);
            c->symv[k] = LLVMBuildLoad2(B, c->i64, LLVMBuildInBoundsGEP2(B, c->i64, sp, &i, 1, ""), f->sym_names[k]);
            LLVMSetAlignment(c->symv[k], 8);
        }
    }
    if (!block(c, &f->body)) return false;
    LLVMBuildRetVoid(B);
    return true;
}

static void entry_function(cg *c, const char *sym) {
    const tx_lir_func *f = c->f;
    bool generic = f->nsyms > 0;   /* void SYM(void **bufs, const int64_t *sizes) */
    LLVMTypeRef params[2] = { c->ptr, c->ptr };
    LLVMTypeRef fty = LLVMFunctionType(c->voidt, params, generic ? 2 : 1, 0);
    LLVMValueRef fn = LLVMAddFunction(c->mod, sym, fty);
    add_fn_attr(c, fn, "nounwind");
    LLVMValueRef bufs = LLVMGetParam(fn, 0);
    LLVMSetValueName2(bufs, "bufs", 4);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
    int nb = f->nbufs;
    LLVMValueRef *args = calloc((size_t)(nb + 1), sizeof *args);
    if (generic) args[nb] = LLVMGetParam(fn, 1);
    for (int k = 0; k < nb; k++) {
        if (f->bufs[k].local && generic) {
            args[k] = LLVMConstPointerNull(c->ptr);   /* never: generic kernels are not scheduled */
            continue;
        }
        if (f->bufs[k].local) {   /* the kernel's own storage: not in the caller's array */
            size_t bytes = (size_t)f->bufs[k].size * txrt_dtype_size(f->bufs[k].dtype);
            args[k] = LLVMBuildArrayAlloca(B, LLVMInt8TypeInContext(c->ctx),
                                           LLVMConstInt(c->i64, (unsigned long long)(bytes ? bytes : 1), 0),
                                           f->bufs[k].name);
            LLVMSetAlignment(args[k], 64);
            continue;
        }
        LLVMValueRef i = LLVMConstInt(c->i64, (unsigned long long)k, 0);
        LLVMValueRef p = LLVMBuildInBoundsGEP2(B, c->ptr, bufs, &i, 1, "");
        args[k] = LLVMBuildLoad2(B, c->ptr, p, f->bufs[k].name);
        LLVMSetAlignment(args[k], 8);
    }
    LLVMBuildCall2(B, LLVMGlobalGetValueType(c->fn), c->fn, args, (unsigned)(nb + generic), "");
    LLVMBuildRetVoid(B);
    free(args);
}

/* @llvm.compiler.used = appending [n x ptr] [the declared variants],
 * section "llvm.metadata": otherwise the optimiser drops the unused
 * declarations before the vectoriser could call them (clang's
 * InjectTLIMappings does the same). */
static void keep_variants(cg *c) {
    if (c->nvfns == 0) return;
    LLVMTypeRef at = LLVMArrayType2(c->ptr, (uint64_t)c->nvfns);
    LLVMValueRef g = LLVMAddGlobal(c->mod, at, "llvm.compiler.used");
    LLVMSetInitializer(g, LLVMConstArray2(c->ptr, c->vfns, (uint64_t)c->nvfns));
    LLVMSetLinkage(g, LLVMAppendingLinkage);
    LLVMSetSection(g, "llvm.metadata");
}

/* Is fn used by an instruction (a call), not only by constants? */
static bool called(LLVMValueRef fn) {
    for (LLVMUseRef u = LLVMGetFirstUse(fn); u; u = LLVMGetNextUse(u))
        if (LLVMIsAInstruction(LLVMGetUser(u))) return true;
    return false;
}

void tx_cg_vecmath_prune(LLVMModuleRef m) {
    LLVMValueRef g = LLVMGetNamedGlobal(m, "llvm.compiler.used");
    if (g) LLVMDeleteGlobal(g);
    for (LLVMValueRef fn = LLVMGetFirstFunction(m), next; fn; fn = next) {
        next = LLVMGetNextFunction(fn);
        size_t n;
        const char *name = LLVMGetValueName2(fn, &n);
        if (n > 4 && strncmp(name, "_ZGV", 4) == 0 && LLVMIsDeclaration(fn) && !called(fn)) {
            /* the deleted global's initializer, a now dead constant array, still uses fn */
            if (LLVMGetFirstUse(fn)) LLVMReplaceAllUsesWith(fn, LLVMConstNull(LLVMTypeOf(fn)));
            LLVMDeleteFunction(fn);
        }
    }
}

/* Does the CPU named cpu support AVX-512 (2), AVX2 (1) or neither (0), by
 * its LLVM name (for --cpu NAME, whose features LLVM does not tell). */
static int cpu_avx_level(const char *cpu) {
    static const char *const avx512[] = {
        "x86-64-v4", "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client",
        "icelake-server", "rocketlake", "tigerlake", "sapphirerapids", "emeraldrapids", "graniterapids",
        "knl", "knm", "znver4", "znver5", NULL
    };
    static const char *const avx2[] = {
        "x86-64-v3", "haswell", "broadwell", "skylake", "alderlake", "raptorlake", "meteorlake",
        "arrowlake", "lunarlake", "sierraforest", "grandridge", "bdver4", "znver1", "znver2", "znver3", NULL
    };
    for (int k = 0; avx512[k]; k++)
        if (strcmp(cpu, avx512[k]) == 0) return 2;
    for (int k = 0; avx2[k]; k++)
        if (strcmp(cpu, avx2[k]) == 0) return 1;
    return 0;
}

tx_cg_vecmath tx_cg_vecmath_for(const char *cpu, const char *features, int opt_level) {
#ifndef TXC_HAVE_LIBMVEC
    (void)cpu, (void)features, (void)opt_level;
    return TX_CG_VECMATH_NONE;
#else
    const char *off = getenv("TXC_NO_VECMATH");
    if (opt_level < 2 || (off && *off && strcmp(off, "0") != 0)) return TX_CG_VECMATH_NONE;
    int level;
    if (features && *features) {
        /* "+avx512f" and "+avx2" as whole entries of the comma-separated list */
        level = 0;
        for (const char *p = features; *p;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (n == 8 && strncmp(p, "+avx512f", 8) == 0) level = 2;
            else if (n == 5 && strncmp(p, "+avx2", 5) == 0 && level < 1) level = 1;
            p += n + (e ? 1 : 0);
        }
    } else {
        level = cpu ? cpu_avx_level(cpu) : 0;
    }
    return level == 2 ? TX_CG_VECMATH_AVX512 : level == 1 ? TX_CG_VECMATH_AVX2 : TX_CG_VECMATH_NONE;
#endif
}

LLVMModuleRef tx_cg_build_module(LLVMContextRef ctx, const tx_lir_func *f, const char *sym,
                                 tx_cg_vecmath vm, int vec_bytes, char **err) {
    cg c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    c.vm = vm;
    c.lanes = vec_bytes >= 16 ? tx_lir_lanes_find(f, vec_bytes) : NULL;
    c.f = f;
    c.sym = sym;
    c.mod = LLVMModuleCreateWithNameInContext(sym, ctx);
    c.b = LLVMCreateBuilderInContext(ctx);
    c.f32 = LLVMFloatTypeInContext(ctx);
    c.f64 = LLVMDoubleTypeInContext(ctx);
    c.i64 = LLVMInt64TypeInContext(ctx);
    c.ptr = LLVMPointerTypeInContext(ctx, 0);
    c.voidt = LLVMVoidTypeInContext(ctx);
    c.bufp = calloc((size_t)(f->nbufs + 1), sizeof *c.bufp);
    c.var = calloc((size_t)(f->nvars + 1), sizeof *c.var);
    c.symv = calloc((size_t)(f->nsyms + 1), sizeof *c.symv);
    c.acc_re = calloc((size_t)(f->naccs + 1), sizeof *c.acc_re);
    c.acc_im = calloc((size_t)(f->naccs + 1), sizeof *c.acc_im);
    bool ok = c.bufp && c.var && c.symv && c.acc_re && c.acc_im;
    if (!ok) fail(&c, "out of memory");
    else ok = body_function(&c, sym);
    if (ok) entry_function(&c, sym);
    if (ok) keep_variants(&c);
    LLVMDisposeBuilder(c.b);
    tx_lir_lanes_free(c.lanes);
    free(c.vfns);
    free(c.bufp);
    free(c.var);
    free(c.symv);
    free(c.acc_re);
    free(c.acc_im);
    if (!ok) {
        LLVMDisposeModule(c.mod);
        if (err) *err = c.err;
        else free(c.err);
        return NULL;
    }
    return c.mod;
}
