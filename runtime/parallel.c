/*
 * parallel.c -- the runtime thread pool behind txrt_parallel_for.
 *
 * One persistent pool per process, started lazily by the first parallel
 * loop that wants more than one thread and stopped at exit (atexit), so a
 * program that never runs a parallel loop never creates a thread and one
 * that does leaves nothing behind for ASan or valgrind.
 *
 * A job splits [0, n) into k = min(n, TXRT_CHUNKS_PER_THREAD * threads)
 * contiguous chunks, chunk c being [c*n/k, (c+1)*n/k).  Several chunks per
 * thread balance the load when the cores do not run at the same speed: on
 * the shared 2-core benchmark machine one core often runs the same work
 * 1.5-2x slower than the other (the two halves of a 1e7-element exp*sin
 * loop took 7.9 and 12 ms), and with one chunk each the fast thread then
 * waits for the slow one.  The calling thread posts the job and then
 * works on it like any worker: every participant claims the next
 * unclaimed chunk until none is left, so a worker that wakes late (the
 * machine is shared) simply finds the work done and goes back to sleep;
 * the caller returns once every chunk has finished.  Chunks are claimed
 * with a compare-and-swap on a 64-bit ticket holding the job's generation
 * in its high half, so a worker that read an older job's fields can never
 * claim a chunk of a newer one.
 *
 * Workers spin briefly on the generation counter before sleeping on a
 * condition variable, because waking a sleeping thread costs several
 * microseconds and kernels often run back to back.
 *
 * A parallel_for called from inside a job (nested), or while another
 * thread owns the pool, runs serially in the calling thread: results never
 * depend on it, only timing does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "txrt.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

typedef void (*body_fn)(void *ctx, int64_t lo, int64_t hi);

typedef struct pool {
    pthread_mutex_t mu;            /* guards the sleeping/wake protocol and start-up */
    pthread_cond_t wake;
    pthread_mutex_t job_mu;        /* held by the thread that owns the current job */
    pthread_t *threads;
    int nthreads;                  /* workers started */
    bool quit;
    /* the current job (written by its owner before publishing gen) */
    _Atomic(body_fn) body;
    _Atomic(void *) ctx;
    _Atomic int64_t n;
    _Atomic int64_t nchunks;
    _Atomic uint64_t gen;          /* generation of the latest job */
    _Atomic uint64_t gen_begin;    /* generation whose fields are being written (seqlock) */
    _Atomic uint64_t ticket;       /* gen << 32 | next unclaimed chunk */
    _Atomic int64_t remaining;     /* chunks of the current job not yet finished */
} pool;

static pool P = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .job_mu = PTHREAD_MUTEX_INITIALIZER,
};

static _Atomic int want_threads;          /* 0 = default (online CPUs) */
static _Thread_local int in_parallel;     /* inside a job: nested calls run serially */
static bool atexit_registered;            /* under P.mu */

#define SPIN_ITERS 4000

/* The online CPUs, asked once: glibc reads /sys for it on every call, and
 * txrt_get_threads is asked per kernel and per BLAS decision. */
static int online_cpus(void) {
    static _Atomic int cached;
    int c = atomic_load(&cached);
    if (c > 0) return c;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c = n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
    atomic_store(&cached, c);
    return c;
}

void txrt_set_threads(int n) { atomic_store(&want_threads, n < 1 ? 0 : n > 1024 ? 1024 : n); }

int txrt_get_threads(void) {
    int n = atomic_load(&want_threads);
    return n > 0 ? n : online_cpus();
}

/* Chunk c of k over [0, n): [c*(n/k) + min(c, n%k), ...), sizes differing by at most one. */
static int64_t chunk_lo(int64_t n, int64_t k, int64_t c) {
    int64_t q = n / k, r = n % k;
    return c * q + (c < r ? c : r);
}

/* Claim and run chunks of job `gen` until none is left. */
static void work(uint64_t gen, body_fn body, void *ctx, int64_t n, int64_t k) {
    uint64_t t = atomic_load(&P.ticket);
    for (;;) {
        if ((t >> 32) != (gen & 0xffffffffu) || (int64_t)(t & 0xffffffffu) >= k) return;
        if (!atomic_compare_exchange_weak(&P.ticket, &t, t + 1)) continue;
        int64_t c = (int64_t)(t & 0xffffffffu);
        body(ctx, chunk_lo(n, k, c), chunk_lo(n, k, c + 1));
        atomic_fetch_sub(&P.remaining, 1);
        t = atomic_load(&P.ticket);
    }
}

static void *worker(void *arg) {
    (void)arg;
    in_parallel = 1;
    uint64_t seen = atomic_load(&P.gen);
    for (;;) {
        uint64_t g = atomic_load(&P.gen);
        for (int s = 0; g == seen && s < SPIN_ITERS; s++) {
            cpu_relax();
            g = atomic_load(&P.gen);
        }
        if (g == seen) {
            pthread_mutex_lock(&P.mu);
            while ((g = atomic_load(&P.gen)) == seen && !P.quit) pthread_cond_wait(&P.wake, &P.mu);
            bool quit = P.quit;
            pthread_mutex_unlock(&P.mu);
            if (quit) return NULL;
        }
        seen = g;
        /* the job's fields were written before gen was published; a newer
         * job's owner sets gen_begin before it overwrites them, so fields
         * read before gen_begin still says g are all job g's (a worker
         * that loaded g long ago could otherwise mix in the next job's
         * fields and claim a chunk of it through job g's ticket); work()
         * rechecks the generation in the ticket before running anything */
        body_fn body = atomic_load(&P.body);
        void *ctx = atomic_load(&P.ctx);
        int64_t n = atomic_load(&P.n), k = atomic_load(&P.nchunks);
        if (atomic_load(&P.gen_begin) != g) continue;
        if (body) work(g, body, ctx, n, k);
    }
}

static void shutdown_pool(void) {
    pthread_mutex_lock(&P.job_mu);
    pthread_mutex_lock(&P.mu);
    P.quit = true;
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
    for (int k = 0; k < P.nthreads; k++) pthread_join(P.threads[k], NULL);
    free(P.threads);
    P.threads = NULL;
    P.nthreads = 0;
    P.quit = false;
    pthread_mutex_unlock(&P.job_mu);
}

void txrt_parallel_shutdown(void) { shutdown_pool(); }

/* Start workers until there are `want` (called with job_mu held).  Returns
 * the number running (fewer if the system refuses threads). */
static int grow(int want) {
    if (P.nthreads >= want) return P.nthreads;
    pthread_mutex_lock(&P.mu);
    if (!atexit_registered) atexit_registered = atexit(shutdown_pool) == 0;
    pthread_t *t = realloc(P.threads, sizeof *t * (size_t)want);
    if (t) {
        P.threads = t;
        while (P.nthreads < want && pthread_create(&P.threads[P.nthreads], NULL, worker, NULL) == 0)
            P.nthreads++;
    }
    pthread_mutex_unlock(&P.mu);
    return P.nthreads;
}

void txrt_parallel_for(int64_t n, void (*body)(void *ctx, int64_t lo, int64_t hi), void *ctx) {
    if (n <= 0) return;
    int threads = txrt_get_threads();
    if (threads < 2 || n < 2 || in_parallel || pthread_mutex_trylock(&P.job_mu) != 0) {
        body(ctx, 0, n);
        return;
    }
    int nw = grow(threads - 1);
    if (nw < 1) {
        pthread_mutex_unlock(&P.job_mu);
        body(ctx, 0, n);
        return;
    }
    int64_t par = (int64_t)nw + 1 < threads ? (int64_t)nw + 1 : threads;
    int64_t k = n < par * TXRT_CHUNKS_PER_THREAD ? n : par * TXRT_CHUNKS_PER_THREAD;
    uint64_t g = atomic_load(&P.gen) + 1;
    atomic_store(&P.gen_begin, g);
    atomic_store(&P.body, body);
    atomic_store(&P.ctx, ctx);
    atomic_store(&P.n, n);
    atomic_store(&P.nchunks, k);
    atomic_store(&P.remaining, k);
    atomic_store(&P.ticket, (g & 0xffffffffu) << 32);
    pthread_mutex_lock(&P.mu);
    atomic_store(&P.gen, g);
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
    in_parallel = 1;
    work(g, body, ctx, n, k);
    for (int s = 0; atomic_load(&P.remaining) > 0; s++) {
        if (s < SPIN_ITERS) cpu_relax();
        else sched_yield();
    }
    in_parallel = 0;
    pthread_mutex_unlock(&P.job_mu);
}
