/*
 * parser.y -- the grammar of tx (LANGUAGE.md), turning tokens from
 * frontend/lexer.l into the AST of frontend/ast.h.
 *
 * Input: a tx_source.  Output: a tx_ast_program whose nodes all live in the
 * caller's arena, plus syntax errors appended to a tx_diags list.  Nothing
 * is printed and nothing exits.
 *
 * Shape of the grammar:
 *   - A program (and a { } block) is a list of statements separated by
 *     NEWLINE or ';'; empty statements are allowed, so blank lines and
 *     comments are fine anywhere.  The lexer drops newlines inside ( ) and
 *     [ ] (but not inside { }).
 *   - Assignment targets are parsed as expressions and converted afterwards
 *     (NAME -> plain target, ACCESS -> indexed target), which keeps the
 *     grammar LALR(1) without lookahead tricks.
 *   - Unary prefixes and '^' chains are collected as flat lists and folded
 *     into a tree by one action, so no rule recurses to the right: the bison
 *     stack stays shallow whatever the input, and the only deep structures
 *     are brackets, which the lexer caps at TX_MAX_NESTING.
 *   - Every expression node records its tree depth (struct pnode below); a
 *     node deeper than TX_MAX_NESTING is refused with a diagnostic, so later
 *     recursive passes never see a deeper tree.
 *
 * Errors and recovery:
 *   - An action that finds an error (bad target, chained comparison, tree
 *     too deep, ...) reports it and yields NULL; NULL propagates upwards
 *     and a statement containing NULL is dropped.  So the returned program
 *     holds exactly the statements that parsed cleanly.
 *   - Syntax errors are worded by yyreport_syntax_error from the lookahead,
 *     the previous token, the bracket the lexer has open and bison's
 *     expected-token set (exact thanks to LAC).
 *   - `error` rules resync at the statement separator (top level and in
 *     blocks), after `for`/`def` headers, and at the closing bracket of
 *     ( ), [ ] and calls.  While recovering, the lexer turns a newline inside
 *     brackets into virtual closing brackets plus a NEWLINE, so recovery
 *     never runs past the end of the line on which the error happened.
 *   - At most one error is reported per statement, except that recovering
 *     inside a bracket re-arms reporting (several broken subexpressions of
 *     one statement are all reported).
 */

%define api.pure full
%define api.location.type {tx_span}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {tx_pstate *P}

%code requires {
#include <stdbool.h>
#include <stdint.h>

#include "frontend/arena.h"
#include "frontend/ast.h"
#include "frontend/diag.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* A growable arena array: v holds n elements of one size; bad is set when
 * a NULL (an element that failed to parse) was pushed. */
typedef struct tx_list {
    void *v;
    int n, cap;
    bool bad;
} tx_list;

/* Positional and keyword arguments of a call (or of a reduction). */
typedef struct tx_args {
    tx_list pos;   /* tx_ast_expr * */
    tx_list kw;    /* tx_ast_kwarg */
    bool bad;
} tx_args;

/* What the lexer knows about one token, for error messages. */
typedef struct tx_tokinfo {
    int kind;            /* token kind; 0 = end of file, -1 = none yet */
    tx_span span;
    bool nl_before;      /* a newline inside ( ) or [ ] was skipped just before it */
    bool line_start;     /* first token of its line */
    bool is_virtual;     /* inserted by the lexer (closing bracket, newline) */
    bool unmatched;      /* a closing bracket with no opener of its kind open */
    char open_ch;        /* innermost open bracket before this token, or 0 */
    tx_span open_span;
} tx_tokinfo;

typedef struct tx_bracket {
    char ch;             /* '(' '[' '{' */
    uint32_t lo;         /* its offset */
} tx_bracket;

/* Lexer and parser state of one tx_parse call (the lexer's extra data). */
typedef struct tx_pstate {
    tx_arena *arena;
    tx_diags *diags;
    const tx_source *src;
    /* lexer */
    uint32_t off;             /* byte offset of the next character */
    tx_bracket *stack;        /* open brackets, innermost last */
    int depth, cap;
    int skip_depth;           /* > 0: swallowing a too-deeply nested bracket */
    uint32_t skip_lo;
    char *pend;               /* virtual closing brackets to return, in order */
    int npend, ipend, pcap;
    bool pend_nl;             /* then a virtual NEWLINE */
    uint32_t pend_at;         /* offset where the virtual tokens sit */
    bool line_start;          /* nothing but blanks since the last newline */
    bool nl_skipped;          /* a newline inside brackets was skipped */
    bool tok_unmatched;       /* the closing bracket just lexed had no opener */
    bool reset_pending;       /* a statement separator was returned */
    bool recovering;          /* the parser is resynchronising after an error */
    bool quiet;               /* an error was reported in this statement */
    tx_tokinfo cur, prev, prev2;  /* the lookahead and the two tokens before it */
    /* parser */
    tx_list top;              /* tx_ast_stmt * of the program */
} tx_pstate;
}

%code provides {
/* The lexer (frontend/lexer.l).  tx_lex_open starts scanning P->src (whose
 * arena, diags and src fields must be set, the rest zero); tx_lex_close
 * frees everything flex allocated. */
yyscan_t tx_lex_open(tx_pstate *P);
void tx_lex_close(yyscan_t scanner);
int yylex(YYSTYPE *lval, YYLTYPE *lloc, yyscan_t scanner);
/* Kind returned by flex actions that produced no token (internal). */
#define TX_TOK_NONE (-100)
}

%code {
#include <math.h>
#include <stdio.h>
#include <string.h>

#define YYMAXDEPTH 200000

/* Spans: a rule covers its first to its last symbol; an empty rule is the
 * empty span at the end of what precedes it. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                   \
    do {                                                              \
        if (N) {                                                      \
            (Cur).lo = YYRHSLOC(Rhs, 1).lo;                           \
            (Cur).hi = YYRHSLOC(Rhs, N).hi;                           \
        } else {                                                      \
            (Cur).lo = (Cur).hi = YYRHSLOC(Rhs, 0).hi;                \
        }                                                             \
    } while (0)

static void yyerror(YYLTYPE *loc, yyscan_t scanner, tx_pstate *P, const char *msg);

/* ---- building nodes ------------------------------------------------------ */

/* Every expression node the parser builds is a pnode, so its tree depth is
 * known without walking it. */
typedef struct pnode {
    tx_ast_expr e;
    int depth;
} pnode;

#define DEPTH(x) (((const pnode *)(x))->depth)

static tx_span span2(YYLTYPE a, YYLTYPE b) {
    tx_span s = { a.lo, b.hi };
    return s;
}

static tx_ast_expr *mk(tx_pstate *P, tx_ast_expr_kind k, tx_span sp, int depth) {
    pnode *n = TX_NEW(P->arena, pnode);
    n->e.kind = k;
    n->e.span = sp;
    n->e.builtin = -1;
    n->depth = depth;
    return &n->e;
}

/* Report the depth limit once per statement. */
static void too_deep(tx_pstate *P, tx_span at) {
    if (!P->quiet) {
        tx_diag *g = tx_error(P->diags, at, "expression nested too deeply (more than %d levels)",
                              TX_MAX_NESTING);
        tx_hint(P->diags, g, "split it into several statements");
    }
    P->quiet = true;
}

static void list_push(tx_pstate *P, tx_list *l, const void *elem, size_t sz) {
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 4;
        l->v = tx_arena_grow(P->arena, l->v, (size_t)l->n, (size_t)nc, sz);
        l->cap = nc;
    }
    memcpy((char *)l->v + (size_t)l->n * sz, elem, sz);
    l->n++;
}

/* Push a pointer; NULL marks the list bad. */
static void push_ptr(tx_pstate *P, tx_list *l, void *p) {
    if (!p) l->bad = true;
    list_push(P, l, &p, sizeof p);
}

static tx_list list1(tx_pstate *P, void *p) {
    tx_list l = { 0 };
    push_ptr(P, &l, p);
    return l;
}

static tx_list empty_list(void) {
    tx_list l = { 0 };
    return l;
}

static tx_ast_expr *num(tx_pstate *P, tx_ast_expr_kind k, double v, tx_span sp) {
    tx_ast_expr *e = mk(P, k, sp, 1);
    e->num = v;
    return e;
}

static tx_ast_expr *binary(tx_pstate *P, tx_op op, tx_ast_expr *a, tx_ast_expr *b, tx_span opsp) {
    if (!a || !b) return NULL;
    int d = 1 + (DEPTH(a) > DEPTH(b) ? DEPTH(a) : DEPTH(b));
    if (d > TX_MAX_NESTING) {
        too_deep(P, opsp);
        return NULL;
    }
    tx_ast_expr *e = mk(P, TX_AST_BINARY, tx_span_join(a->span, b->span), d);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

static tx_ast_expr *unary(tx_pstate *P, tx_op op, tx_ast_expr *a, uint32_t lo) {
    if (!a) return NULL;
    tx_span opsp = { lo, lo + 1 };
    if (DEPTH(a) + 1 > TX_MAX_NESTING) {
        too_deep(P, opsp);
        return NULL;
    }
    tx_span sp = { lo, a->span.hi };
    tx_ast_expr *e = mk(P, TX_AST_UNARY, sp, DEPTH(a) + 1);
    e->op = op;
    e->a = a;
    return e;
}

/* A prefix operator ('-' or '+') waiting to be applied. */
typedef struct prefix {
    tx_op op;
    uint32_t lo;
} prefix;

/* One operand of a '^' chain with the prefixes written before it. */
typedef struct chain_item {
    tx_ast_expr *x;
    prefix *pre;
    int npre;
    uint32_t caret;   /* offset of the '^' before it (unused for the first) */
} chain_item;

static tx_ast_expr *apply_prefixes(tx_pstate *P, const prefix *pre, int n, tx_ast_expr *e) {
    for (int j = n - 1; j >= 0 && e; j--) e = unary(P, pre[j].op, e, pre[j].lo);
    return e;
}

/* x0 ^ p1 x1 ^ p2 x2 ... with prefixes p_k binding looser than the '^' to
 * their right:  r = p_n(x_n);  r = p_k(x_k ^ r) for k = n-1 .. 0. */
static tx_ast_expr *fold_chain(tx_pstate *P, tx_list pre0, tx_list chain) {
    chain_item *it = chain.v;
    int n = chain.n - 1;
    tx_ast_expr *r = apply_prefixes(P, it[n].pre, it[n].npre, it[n].x);
    for (int k = n - 1; k >= 0 && r; k--) {
        tx_span caret = { it[k + 1].caret, it[k + 1].caret + 1 };
        r = binary(P, TX_OP_POW, it[k].x, r, caret);
        r = apply_prefixes(P, it[k].pre, it[k].npre, r);   /* none for k == 0 */
    }
    return apply_prefixes(P, pre0.v, pre0.n, r);
}

static chain_item item(tx_ast_expr *x, tx_list pre, uint32_t caret) {
    chain_item c = { x, pre.v, pre.n, caret };
    return c;
}

/* ACCESS / CALL / REDUCE share the depth rule: 1 + the deepest argument. */
static int args_depth(tx_ast_expr **v, int n) {
    int d = 0;
    for (int i = 0; i < n; i++)
        if (DEPTH(v[i]) > d) d = DEPTH(v[i]);
    return d;
}

static tx_ast_expr *access(tx_pstate *P, const char *name, tx_span name_sp, tx_list args, tx_span sp) {
    if (args.bad) return NULL;
    int d = 1 + args_depth(args.v, args.n);
    if (d > TX_MAX_NESTING) {
        too_deep(P, name_sp);
        return NULL;
    }
    tx_ast_expr *e = mk(P, TX_AST_ACCESS, sp, d);
    e->name = name;
    e->name_span = name_sp;
    e->args = args.v;
    e->nargs = args.n;
    return e;
}

static tx_args *new_args(tx_pstate *P) {
    return TX_NEW(P->arena, tx_args);
}

static void add_pos(tx_pstate *P, tx_args *a, tx_ast_expr *e) {
    if (!e) a->bad = true;
    else if (a->kw.n > 0) {
        tx_diag *g = tx_error(P->diags, e->span, "keyword arguments come after positional ones");
        tx_hint(P->diags, g, "move this argument before '%s='",
                ((tx_ast_kwarg *)a->kw.v)[0].name);
        a->bad = true;
    }
    push_ptr(P, &a->pos, e);
}

static void add_kw(tx_pstate *P, tx_args *a, const char *name, tx_span name_sp, tx_ast_expr *e) {
    if (!e) a->bad = true;
    for (int i = 0; i < a->kw.n; i++)
        if (strcmp(((tx_ast_kwarg *)a->kw.v)[i].name, name) == 0) {
            tx_error(P->diags, name_sp, "keyword argument '%s' is given twice", name);
            a->bad = true;
        }
    tx_ast_kwarg k = { name, name_sp, e };
    list_push(P, &a->kw, &k, sizeof k);
}

static tx_ast_expr *call(tx_pstate *P, const char *name, tx_span name_sp, tx_args *a, tx_span sp) {
    if (a && (a->bad || a->pos.bad)) return NULL;
    int d = 1;
    if (a) {
        d = 1 + args_depth(a->pos.v, a->pos.n);
        for (int i = 0; i < a->kw.n; i++) {
            tx_ast_expr *v = ((tx_ast_kwarg *)a->kw.v)[i].value;
            if (1 + DEPTH(v) > d) d = 1 + DEPTH(v);
        }
    }
    if (d > TX_MAX_NESTING) {
        too_deep(P, name_sp);
        return NULL;
    }
    tx_ast_expr *e = mk(P, TX_AST_CALL, sp, d);
    e->name = name;
    e->name_span = name_sp;
    if (a) {
        e->args = a->pos.v;
        e->nargs = a->pos.n;
        e->kwargs = a->kw.v;
        e->nkwargs = a->kw.n;
    }
    return e;
}

static tx_ast_expr *reduce(tx_pstate *P, const char *name, tx_span name_sp, tx_list idx,
                           tx_span idx_sp, tx_args *a, tx_span args_sp, tx_span sp) {
    tx_redop op;
    if (strcmp(name, "sum") == 0) op = TX_RED_SUM;
    else if (strcmp(name, "max") == 0) op = TX_RED_MAX;
    else if (strcmp(name, "min") == 0) op = TX_RED_MIN;
    else if (strcmp(name, "prod") == 0) op = TX_RED_PROD;
    else {
        tx_diag *g = tx_error(P->diags, name_sp,
                              "'%s[...](...)' is not a reduction: reductions are sum, max, min, prod",
                              name);
        tx_hint(P->diags, g, "to multiply an access by a parenthesised factor, write %s[...] * (...)",
                name);
        return NULL;
    }
    if (idx.bad || (a && (a->bad || a->pos.bad))) return NULL;
    bool ok = true;
    if (idx.n == 0) {
        tx_diag *g = tx_error(P->diags, idx_sp, "a reduction needs at least one index");
        tx_hint(P->diags, g, "write the indices to reduce over: %s[k](...)", name);
        ok = false;
    }
    tx_ast_ident *ids = TX_NEWN(P->arena, tx_ast_ident, idx.n ? idx.n : 1);
    for (int i = 0; i < idx.n; i++) {
        tx_ast_expr *x = ((tx_ast_expr **)idx.v)[i];
        if (x->kind != TX_AST_NAME || x->parens) {
            tx_diag *g = tx_error(P->diags, x->span, "reduction indices must be plain identifiers");
            tx_hint(P->diags, g, "write %s[k](...) with index names only", name);
            ok = false;
            continue;
        }
        ids[i].name = x->name;
        ids[i].span = x->span;
    }
    if (!a || a->pos.n != 1 || a->kw.n != 0) {
        tx_diag *g = tx_error(P->diags, args_sp, "a reduction takes exactly one expression");
        tx_hint(P->diags, g, "write %s[k](expression)", name);
        ok = false;
    }
    if (!ok) return NULL;
    tx_ast_expr *body = ((tx_ast_expr **)a->pos.v)[0];
    if (DEPTH(body) + 1 > TX_MAX_NESTING) {
        too_deep(P, name_sp);
        return NULL;
    }
    tx_ast_expr *e = mk(P, TX_AST_REDUCE, sp, DEPTH(body) + 1);
    e->name = name;
    e->name_span = name_sp;
    e->redop = op;
    e->args = a->pos.v;
    e->nargs = 1;
    e->idx = ids;
    e->nidx = idx.n;
    return e;
}

static bool is_cmp(const tx_ast_expr *e) {
    return e && e->kind == TX_AST_BINARY && e->op >= TX_OP_LT && e->op <= TX_OP_NE;
}

/* ---- statements ---------------------------------------------------------- */

static tx_ast_stmt *stmt(tx_pstate *P, tx_ast_stmt_kind k, tx_span sp) {
    tx_ast_stmt *s = TX_NEW(P->arena, tx_ast_stmt);
    s->kind = k;
    s->span = sp;
    return s;
}

/* Turn a parsed left-hand side into a target; false (after an error) when
 * the expression cannot be assigned to. */
static bool to_target(tx_pstate *P, tx_ast_expr *e, tx_ast_target *t) {
    memset(t, 0, sizeof *t);
    if (e->kind == TX_AST_NAME) {
        t->id.name = e->name;
        t->id.span = e->parens ? e->name_span : e->span;
        t->indexed = false;
        t->span = e->span;
        return true;
    }
    if (e->kind == TX_AST_ACCESS) {
        t->id.name = e->name;
        t->id.span = e->name_span;
        t->subs = e->args;
        t->nsubs = e->nargs;
        t->indexed = true;
        t->span = e->span;
        return true;
    }
    tx_diag *g = tx_error(P->diags, e->span, "cannot assign to this expression");
    tx_hint(P->diags, g, "the left of '=' is a name (X = ...) or a tensor with index names "
                         "(X[i,j] = ...)");
    return false;
}

static tx_ast_stmt *assign(tx_pstate *P, tx_list lhs, bool acc, tx_span opsp, tx_ast_expr *value,
                           tx_span sp) {
    if (lhs.bad || !value) return NULL;
    if (acc && lhs.n > 1) {
        tx_error(P->diags, opsp, "'+=' takes a single target");
        return NULL;
    }
    tx_ast_target *ts = TX_NEWN(P->arena, tx_ast_target, lhs.n);
    bool ok = true;
    for (int i = 0; i < lhs.n; i++)
        if (!to_target(P, ((tx_ast_expr **)lhs.v)[i], &ts[i])) ok = false;
    if (!ok) return NULL;
    tx_ast_stmt *s = stmt(P, TX_AST_ASSIGN, sp);
    s->targets = ts;
    s->ntargets = lhs.n;
    s->accumulate = acc;
    s->op_span = opsp;
    s->value = value;
    return s;
}

static tx_ast_ident ident(const char *name, YYLTYPE sp) {
    tx_ast_ident id = { name, sp };
    return id;
}

/* A shape or dtype annotation of a def signature. */
typedef struct sig_part {
    tx_list dims;        /* tx_ast_dim */
    int dtype;           /* TX_DT_*, or -2 after an error */
} sig_part;

static int dtype_of(tx_pstate *P, const char *name, tx_span sp) {
    if (strcmp(name, "f64") == 0) return TX_DT_F64;
    if (strcmp(name, "f32") == 0) return TX_DT_F32;
    if (strcmp(name, "c128") == 0) return TX_DT_C128;
    if (strcmp(name, "c64") == 0) return TX_DT_C64;
    tx_diag *g = tx_error(P->diags, sp, "unknown dtype '%s'", name);
    tx_hint(P->diags, g, "dtypes are f64, f32, c128 and c64");
    return -2;
}

static tx_ast_param *param(tx_pstate *P, const char *name, YYLTYPE name_sp, tx_list dims,
                           int dtype, YYLTYPE dtype_sp, tx_span sp) {
    if (dims.bad || dtype == -2) return NULL;
    tx_ast_param *p = TX_NEW(P->arena, tx_ast_param);
    p->id = ident(name, name_sp);
    p->dims = dims.v;
    p->ndims = dims.n;
    p->dtype = dtype;
    p->dtype_span = dtype_sp;
    p->span = sp;
    return p;
}

/* Copy a list of tx_ast_param * into an array of tx_ast_param. */
static tx_ast_param *params_array(tx_pstate *P, tx_list l) {
    tx_ast_param *a = TX_NEWN(P->arena, tx_ast_param, l.n ? l.n : 1);
    for (int i = 0; i < l.n; i++) a[i] = *((tx_ast_param **)l.v)[i];
    return a;
}

static void push_stmt(tx_pstate *P, tx_list *l, tx_ast_stmt *s) {
    if (s) list_push(P, l, &s, sizeof s);
}

/* The source text of a span, for messages ("identifier 'foo'"). */
static const char *span_text(tx_pstate *P, tx_span sp, char *buf, size_t n) {
    uint32_t len = sp.hi > sp.lo ? sp.hi - sp.lo : 0;
    if (sp.hi > P->src->len) len = 0;
    if (len + 1 > n) {
        snprintf(buf, n, "%.*s...", (int)(n - 4), P->src->text + sp.lo);
    } else {
        memcpy(buf, P->src->text + sp.lo, len);
        buf[len] = 0;
    }
    return buf;
}
}

%union {
    double num;
    struct { const char *s; int len; } str;
    tx_ast_expr *expr;
    tx_ast_stmt *stmt;
    tx_ast_param *param;
    tx_list list;
    tx_args *args;
    tx_op op;
    int dtype;
}

%token <str> NAME "identifier" STRING "string"
%token <num> NUMBER "number" IMAG "imaginary number"
%token LET "let" DEF "def" FOR "for" IN "in" PRINT "print" ASSERT "assert"
%token INDEX "index" RETURN "return"
%token NEWLINE "newline" SEMI ";" COMMA "," COLON ":"
%token LPAREN "(" RPAREN ")" LBRACK "[" RBRACK "]" LBRACE "{" RBRACE "}"
%token ASSIGN "=" PLUSEQ "+=" PLUS "+" MINUS "-" STAR "*" SLASH "/" CARET "^"
%token DOTDOT ".." ARROW "->"
%token LT "<" LE "<=" GT ">" GE ">=" EQ "==" NE "!="
%token LEXERR "invalid token"

%type <stmt> stmt simple for_stmt def_stmt
%type <list> block block_stmts expr_list opt_exprs name_list params param_list results
%type <list> dims dim_list prefixes chain
%type <expr> expr cmp arith term unary postfix
%type <op> cmpop
%type <param> param
%type <dtype> dtype
%type <args> call_args arg_list

%start program

%%

program
    : top_stmts
    | top_stmts stmt            { push_stmt(P, &P->top, $2); }
    | top_stmts error
    | top_stmts error block
    ;

/* Error rules consume the separator before yyerrok: an error rule that
 * reduced without consuming anything would loop on the same token.  A
 * block right after an error (`if x > 0 { ... }`) is parsed as a block,
 * so its statements are checked and its '}' does not cascade. */
top_stmts
    : %empty
    | top_stmts stmt sep        { push_stmt(P, &P->top, $2); yyerrok; }
    | top_stmts sep
    | top_stmts error sep       { yyerrok; }
    | top_stmts error block sep { yyerrok; }
    ;

sep : NEWLINE | SEMI ;

block
    : LBRACE block_stmts RBRACE         { $$ = $2; }
    | LBRACE block_stmts stmt RBRACE    { $$ = $2; push_stmt(P, &$$, $3); }
    | LBRACE block_stmts error RBRACE   { $$ = $2; yyerrok; }
    | LBRACE block_stmts error block RBRACE   { $$ = $2; yyerrok; }
    ;

block_stmts
    : %empty                     { $$ = empty_list(); }
    | block_stmts stmt sep       { $$ = $1; push_stmt(P, &$$, $2); yyerrok; }
    | block_stmts sep            { $$ = $1; }
    | block_stmts error sep      { $$ = $1; yyerrok; }
    | block_stmts error block sep  { $$ = $1; yyerrok; }
    ;

stmt
    : simple
    | for_stmt
    | def_stmt
    ;

simple
    : LET NAME ASSIGN expr
        {
            $$ = NULL;
            if ($4) {
                $$ = stmt(P, TX_AST_LET, @$);
                $$->let_name = ident($2.s, @2);
                $$->op_span = @3;
                $$->value = $4;
            }
        }
    | expr_list ASSIGN expr   { $$ = assign(P, $1, false, @2, $3, @$); }
    | expr_list PLUSEQ expr   { $$ = assign(P, $1, true, @2, $3, @$); }
    | expr
        {
            $$ = NULL;
            if ($1) {
                $$ = stmt(P, TX_AST_EXPR, @$);
                $$->value = $1;
            }
        }
    | PRINT expr_list
        {
            $$ = NULL;
            if (!$2.bad) {
                $$ = stmt(P, TX_AST_PRINT, @$);
                $$->args = $2.v;
                $$->nargs = $2.n;
            }
        }
    | ASSERT expr
        {
            $$ = NULL;
            if ($2) {
                $$ = stmt(P, TX_AST_ASSERT, @$);
                $$->value = $2;
            }
        }
    | ASSERT expr COMMA expr
        {
            $$ = NULL;
            if ($2 && $4) {
                $$ = stmt(P, TX_AST_ASSERT, @$);
                $$->value = $2;
                $$->args = TX_NEWN(P->arena, tx_ast_expr *, 1);
                $$->args[0] = $4;
                $$->nargs = 1;
            }
        }
    | INDEX name_list COLON expr
        {
            $$ = NULL;
            if ($4) {
                $$ = stmt(P, TX_AST_INDEX, @$);
                $$->names = $2.v;
                $$->nnames = $2.n;
                $$->value = $4;
            }
        }
    | RETURN
        {
            $$ = stmt(P, TX_AST_RETURN, @$);
        }
    | RETURN expr_list
        {
            $$ = NULL;
            if (!$2.bad) {
                $$ = stmt(P, TX_AST_RETURN, @$);
                $$->args = $2.v;
                $$->nargs = $2.n;
            }
        }
    ;

for_stmt
    : FOR NAME IN expr DOTDOT expr block
        {
            $$ = NULL;
            if ($4 && $6) {
                $$ = stmt(P, TX_AST_FOR, @$);
                $$->var = ident($2.s, @2);
                $$->lo = $4;
                $$->hi = $6;
                $$->body = $7.v;
                $$->nbody = $7.n;
            }
        }
    | FOR error block   { $$ = NULL; }
    | FOR error         { $$ = NULL; }
    ;

def_stmt
    : DEF NAME LPAREN params RPAREN results block
        {
            $$ = NULL;
            if (!$4.bad && !$6.bad) {
                $$ = stmt(P, TX_AST_DEF, @$);
                $$->def_name = ident($2.s, @2);
                $$->params = params_array(P, $4);
                $$->nparams = $4.n;
                $$->results = params_array(P, $6);
                $$->nresults = $6.n;
                $$->body = $7.v;
                $$->nbody = $7.n;
            }
        }
    | DEF error block   { $$ = NULL; }
    | DEF error         { $$ = NULL; }
    ;

params
    : %empty            { $$ = empty_list(); }
    | param_list
    ;

param_list
    : param                   { $$ = list1(P, $1); }
    | param_list COMMA param  { $$ = $1; push_ptr(P, &$$, $3); }
    ;

param
    : NAME dims dtype
        { $$ = param(P, $1.s, @1, $2, $3, @3, @$); }
    ;

dims
    : %empty                     { $$ = empty_list(); }
    | LBRACK RBRACK              { $$ = empty_list(); }
    | LBRACK dim_list RBRACK     { $$ = $2; }
    ;

dim_list
    : NAME
        {
            $$ = empty_list();
            tx_ast_dim d = { $1.s, 0, @1 };
            list_push(P, &$$, &d, sizeof d);
        }
    | NUMBER
        {
            $$ = empty_list();
            char buf[64];
            const char *t = span_text(P, @1, buf, sizeof buf);
            bool whole = t[0] != 0 && strspn(t, "0123456789") == strlen(t);
            if (!whole || $1 > 9007199254740992.0) {
                tx_diag *g = tx_error(P->diags, @1, whole ? "size %s is too large"
                                                          : "a size must be a whole number, not %s", t);
                tx_hint(P->diags, g, "sizes in a signature are names (n) or whole numbers (3)");
                $$.bad = true;
            }
            /* a refused size is stored as 0: converting a huge double is undefined */
            tx_ast_dim d = { NULL, $$.bad ? 0 : (long long)$1, @1 };
            list_push(P, &$$, &d, sizeof d);
        }
    | dim_list COMMA NAME
        {
            $$ = $1;
            tx_ast_dim d = { $3.s, 0, @3 };
            list_push(P, &$$, &d, sizeof d);
        }
    | dim_list COMMA NUMBER
        {
            $$ = $1;
            char buf[64];
            const char *t = span_text(P, @3, buf, sizeof buf);
            bool whole = t[0] != 0 && strspn(t, "0123456789") == strlen(t);
            if (!whole || $3 > 9007199254740992.0) {
                tx_diag *g = tx_error(P->diags, @3, whole ? "size %s is too large"
                                                          : "a size must be a whole number, not %s", t);
                tx_hint(P->diags, g, "sizes in a signature are names (n) or whole numbers (3)");
                $$.bad = true;
            }
            /* a refused size is stored as 0: converting a huge double is undefined */
            tx_ast_dim d = { NULL, $$.bad ? 0 : (long long)$3, @3 };
            list_push(P, &$$, &d, sizeof d);
        }
    ;

dtype
    : %empty            { $$ = TX_DT_NONE; }
    | COLON NAME        { $$ = dtype_of(P, $2.s, @2); @$ = @2; }
    ;

results
    : %empty                           { $$ = empty_list(); }
    | ARROW param                      { $$ = list1(P, $2); }
    | ARROW LPAREN param_list RPAREN   { $$ = $3; }
    ;

name_list
    : NAME
        {
            $$ = empty_list();
            tx_ast_ident id = ident($1.s, @1);
            list_push(P, &$$, &id, sizeof id);
        }
    | name_list COMMA NAME
        {
            $$ = $1;
            tx_ast_ident id = ident($3.s, @3);
            list_push(P, &$$, &id, sizeof id);
        }
    ;

expr_list
    : expr                    { $$ = list1(P, $1); }
    | expr_list COMMA expr    { $$ = $1; push_ptr(P, &$$, $3); }
    ;

opt_exprs
    : %empty                  { $$ = empty_list(); }
    | expr_list
    ;

expr
    : cmp
    ;

cmp
    : arith
    | cmp cmpop arith
        {
            if (is_cmp($1) && !$1->parens) {
                tx_diag *g = tx_error(P->diags, @2, "comparisons cannot be chained");
                tx_hint(P->diags, g, "use parentheses: (a < b) < c compares the 0/1 result; "
                                     "(a < b) * (b < c) means both hold");
                $$ = NULL;
            } else {
                $$ = binary(P, $2, $1, $3, @2);
            }
        }
    ;

cmpop
    : LT { $$ = TX_OP_LT; } | LE { $$ = TX_OP_LE; }
    | GT { $$ = TX_OP_GT; } | GE { $$ = TX_OP_GE; }
    | EQ { $$ = TX_OP_EQ; } | NE { $$ = TX_OP_NE; }
    ;

arith
    : term
    | arith PLUS term    { $$ = binary(P, TX_OP_ADD, $1, $3, @2); }
    | arith MINUS term   { $$ = binary(P, TX_OP_SUB, $1, $3, @2); }
    ;

term
    : unary
    | term STAR unary    { $$ = binary(P, TX_OP_MUL, $1, $3, @2); }
    | term SLASH unary   { $$ = binary(P, TX_OP_DIV, $1, $3, @2); }
    ;

unary
    : chain              { $$ = fold_chain(P, empty_list(), $1); }
    | prefixes chain     { $$ = fold_chain(P, $1, $2); }
    ;

prefixes
    : MINUS              { $$ = empty_list(); prefix p = { TX_OP_NEG, @1.lo };  list_push(P, &$$, &p, sizeof p); }
    | PLUS               { $$ = empty_list(); prefix p = { TX_OP_PLUS, @1.lo }; list_push(P, &$$, &p, sizeof p); }
    | prefixes MINUS     { $$ = $1; prefix p = { TX_OP_NEG, @2.lo };  list_push(P, &$$, &p, sizeof p); }
    | prefixes PLUS      { $$ = $1; prefix p = { TX_OP_PLUS, @2.lo }; list_push(P, &$$, &p, sizeof p); }
    ;

chain
    : postfix
        {
            $$ = empty_list();
            chain_item c = item($1, empty_list(), 0);
            list_push(P, &$$, &c, sizeof c);
            if (!$1) $$.bad = true;
        }
    | chain CARET postfix
        {
            $$ = $1;
            chain_item c = item($3, empty_list(), @2.lo);
            list_push(P, &$$, &c, sizeof c);
            if (!$3) $$.bad = true;
        }
    | chain CARET prefixes postfix
        {
            $$ = $1;
            chain_item c = item($4, $3, @2.lo);
            list_push(P, &$$, &c, sizeof c);
            if (!$4) $$.bad = true;
        }
    ;

postfix
    : NUMBER             { $$ = num(P, TX_AST_NUM, $1, @1); }
    | IMAG               { $$ = num(P, TX_AST_IMAG, $1, @1); }
    | STRING
        {
            $$ = mk(P, TX_AST_STR, @1, 1);
            $$->str = $1.s;
            $$->str_len = $1.len;
        }
    | NAME
        {
            $$ = mk(P, TX_AST_NAME, @1, 1);
            $$->name = $1.s;
            $$->name_span = @1;
        }
    | NAME LBRACK opt_exprs RBRACK
        { $$ = access(P, $1.s, @1, $3, @$); }
    | NAME LPAREN call_args RPAREN
        { $$ = call(P, $1.s, @1, $3, @$); }
    | NAME LBRACK opt_exprs RBRACK LPAREN call_args RPAREN
        { $$ = reduce(P, $1.s, @1, $3, span2(@2, @4), $6, span2(@5, @7), @$); }
    | LPAREN expr RPAREN
        {
            $$ = $2;
            if ($$) {
                $$->parens = true;
                $$->span = @$;
            }
        }
    | LEXERR             { $$ = NULL; }
    | LPAREN error RPAREN
        { $$ = NULL; yyerrok; P->recovering = P->quiet = false; }
    | NAME LBRACK error RBRACK
        { $$ = NULL; yyerrok; P->recovering = P->quiet = false; }
    | NAME LPAREN error RPAREN
        { $$ = NULL; yyerrok; P->recovering = P->quiet = false; }
    | NAME LBRACK opt_exprs RBRACK LPAREN error RPAREN
        { $$ = NULL; yyerrok; P->recovering = P->quiet = false; }
    ;

call_args
    : %empty             { $$ = NULL; }
    | arg_list
    ;

arg_list
    : expr                          { $$ = new_args(P); add_pos(P, $$, $1); }
    | NAME ASSIGN expr              { $$ = new_args(P); add_kw(P, $$, $1.s, @1, $3); }
    | arg_list COMMA expr           { $$ = $1; add_pos(P, $$, $3); }
    | arg_list COMMA NAME ASSIGN expr  { $$ = $1; add_kw(P, $$, $3.s, @3, $5); }
    ;

%%

/* ---- syntax error messages ----------------------------------------------- */

/* How a token kind is named in "expected ..." lists. */
static const char *sym_name(yysymbol_kind_t k) {
    switch (k) {
    case YYSYMBOL_YYEOF: return "end of file";
    case YYSYMBOL_NAME: return "identifier";
    case YYSYMBOL_NUMBER: return "number";
    case YYSYMBOL_IMAG: return "imaginary number";
    case YYSYMBOL_STRING: return "string";
    case YYSYMBOL_NEWLINE: return "newline";
    case YYSYMBOL_LET: return "'let'";
    case YYSYMBOL_DEF: return "'def'";
    case YYSYMBOL_FOR: return "'for'";
    case YYSYMBOL_IN: return "'in'";
    case YYSYMBOL_PRINT: return "'print'";
    case YYSYMBOL_ASSERT: return "'assert'";
    case YYSYMBOL_INDEX: return "'index'";
    case YYSYMBOL_RETURN: return "'return'";
    case YYSYMBOL_SEMI: return "';'";
    case YYSYMBOL_COMMA: return "','";
    case YYSYMBOL_COLON: return "':'";
    case YYSYMBOL_LPAREN: return "'('";
    case YYSYMBOL_RPAREN: return "')'";
    case YYSYMBOL_LBRACK: return "'['";
    case YYSYMBOL_RBRACK: return "']'";
    case YYSYMBOL_LBRACE: return "'{'";
    case YYSYMBOL_RBRACE: return "'}'";
    case YYSYMBOL_ASSIGN: return "'='";
    case YYSYMBOL_PLUSEQ: return "'+='";
    case YYSYMBOL_PLUS: return "'+'";
    case YYSYMBOL_MINUS: return "'-'";
    case YYSYMBOL_STAR: return "'*'";
    case YYSYMBOL_SLASH: return "'/'";
    case YYSYMBOL_CARET: return "'^'";
    case YYSYMBOL_DOTDOT: return "'..'";
    case YYSYMBOL_ARROW: return "'->'";
    case YYSYMBOL_LT: return "'<'";
    case YYSYMBOL_LE: return "'<='";
    case YYSYMBOL_GT: return "'>'";
    case YYSYMBOL_GE: return "'>='";
    case YYSYMBOL_EQ: return "'=='";
    case YYSYMBOL_NE: return "'!='";
    default: return NULL;
    }
}

/* The lookahead as the user sees it: "identifier 'x'", "')'", "newline". */
static const char *describe(tx_pstate *P, yysymbol_kind_t k, tx_span sp, char *buf, size_t n) {
    char text[48];
    switch (k) {
    case YYSYMBOL_NAME:
        snprintf(buf, n, "identifier '%s'", span_text(P, sp, text, sizeof text));
        return buf;
    case YYSYMBOL_NUMBER:
    case YYSYMBOL_IMAG:
        snprintf(buf, n, "number '%s'", span_text(P, sp, text, sizeof text));
        return buf;
    default: {
        const char *s = sym_name(k);
        snprintf(buf, n, "%s", s ? s : "token");
        return buf;
    }
    }
}

static bool has(const yysymbol_kind_t *v, int n, yysymbol_kind_t k) {
    for (int i = 0; i < n; i++)
        if (v[i] == k) return true;
    return false;
}

static yysymbol_kind_t closer_sym(char open) {
    return open == '(' ? YYSYMBOL_RPAREN : open == '[' ? YYSYMBOL_RBRACK : YYSYMBOL_RBRACE;
}

static char closer_ch(char open) {
    return open == '(' ? ')' : open == '[' ? ']' : '}';
}

static bool is_closer(yysymbol_kind_t k) {
    return k == YYSYMBOL_RPAREN || k == YYSYMBOL_RBRACK || k == YYSYMBOL_RBRACE;
}

static bool is_operator(yysymbol_kind_t k) {
    switch (k) {
    case YYSYMBOL_PLUS: case YYSYMBOL_MINUS: case YYSYMBOL_STAR: case YYSYMBOL_SLASH:
    case YYSYMBOL_CARET: case YYSYMBOL_LT: case YYSYMBOL_LE: case YYSYMBOL_GT:
    case YYSYMBOL_GE: case YYSYMBOL_EQ: case YYSYMBOL_NE:
        return true;
    default:
        return false;
    }
}

static bool is_keyword(yysymbol_kind_t k) {
    return k == YYSYMBOL_LET || k == YYSYMBOL_DEF || k == YYSYMBOL_FOR || k == YYSYMBOL_IN ||
           k == YYSYMBOL_PRINT || k == YYSYMBOL_ASSERT || k == YYSYMBOL_INDEX || k == YYSYMBOL_RETURN;
}

static bool is_keyword_tok(int t) {
    return t == LET || t == DEF || t == FOR || t == IN || t == PRINT || t == ASSERT || t == INDEX ||
           t == RETURN;
}

/* Punctuation and keywords can be quoted in "after 'x'". */
static bool quotable(int tokkind) {
    return tokkind > 0 && tokkind != NAME && tokkind != NUMBER && tokkind != IMAG &&
           tokkind != STRING && tokkind != NEWLINE && tokkind != LEXERR;
}

/* "an expression, ')' or ','": the expected set with expression starters
 * folded into "an expression", operators into "an operator" and the
 * statement ends into "newline".  Empty when the list would not help. */
static void expected_list(const yysymbol_kind_t *v, int n, char *buf, size_t cap) {
    const char *items[24];
    int ni = 0;
    bool operand = has(v, n, YYSYMBOL_NAME) && has(v, n, YYSYMBOL_NUMBER) && has(v, n, YYSYMBOL_LPAREN);
    bool after_name = !operand && has(v, n, YYSYMBOL_LBRACK) && has(v, n, YYSYMBOL_LPAREN);
    bool ops = false, ends = false;
    if (operand) items[ni++] = "an expression";
    for (int i = 0; i < n && ni < 20; i++) {
        yysymbol_kind_t k = v[i];
        if (operand && (k == YYSYMBOL_NAME || k == YYSYMBOL_NUMBER || k == YYSYMBOL_IMAG ||
                        k == YYSYMBOL_STRING || k == YYSYMBOL_LPAREN || k == YYSYMBOL_MINUS ||
                        k == YYSYMBOL_PLUS || k == YYSYMBOL_LEXERR))
            continue;
        if (after_name && (k == YYSYMBOL_LBRACK || k == YYSYMBOL_LPAREN)) continue;
        if (is_operator(k) && !operand) {
            ops = true;
            continue;
        }
        if (k == YYSYMBOL_NEWLINE || k == YYSYMBOL_SEMI || k == YYSYMBOL_YYEOF) {
            ends = true;
            continue;
        }
        const char *s = sym_name(k);
        if (s) items[ni++] = s;
    }
    if (ops) items[ni++] = "an operator";
    if (ends) items[ni++] = "newline";
    buf[0] = 0;
    if (ni == 0 || ni > 4) return;
    size_t len = 0;
    for (int i = 0; i < ni; i++) {
        const char *sepr = i == 0 ? "" : i == ni - 1 ? " or " : ", ";
        len += (size_t)snprintf(buf + len, cap > len ? cap - len : 0, "%s%s", sepr, items[i]);
        if (len >= cap) break;
    }
}

/* Word the syntax error at the lookahead for humans.  Returns 0. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, tx_pstate *P) {
    (void)scanner;
    bool was_quiet = P->quiet;
    P->recovering = true;
    P->quiet = true;
    if (was_quiet) return 0;
    yysymbol_kind_t la = yypcontext_token(ctx);
    if (la == YYSYMBOL_LEXERR || P->cur.is_virtual) return 0;

    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    if (n < 0) n = 0;
    tx_span at = *yypcontext_location(ctx);
    const tx_tokinfo *cur = &P->cur, *prev = &P->prev;
    bool prev_real = prev->kind > 0 && !prev->is_virtual;
    if (la == YYSYMBOL_YYEOF && prev_real) at.lo = at.hi = prev->span.hi;

    char found[96], ptext[48], list[160];
    describe(P, la, cur->span, found, sizeof found);
    tx_diag *g;

    /* 1. an unclosed bracket: end of file, a line break inside brackets or a
     *    closing bracket of the wrong kind where its closer would fit */
    if (cur->open_ch) {
        yysymbol_kind_t c = closer_sym(cur->open_ch);
        /* '=' inside a bracket opened on an earlier line: a new statement
         * began before the bracket was closed */
        bool new_stmt = false;
        if ((la == YYSYMBOL_ASSIGN || la == YYSYMBOL_PLUSEQ) && cur->open_ch != '{') {
            uint32_t l1, l2, col;
            tx_source_linecol(P->src, cur->open_span.lo, &l1, &col);
            tx_source_linecol(P->src, cur->span.lo, &l2, &col);
            new_stmt = l1 < l2;
        }
        if (has(exp, n, c) && la != c &&
            (la == YYSYMBOL_YYEOF || cur->nl_before || is_closer(la) || new_stmt)) {
            tx_span o = { cur->open_span.lo, cur->open_span.lo + 1 };
            g = tx_error(P->diags, o, "missing '%c' to close '%c' opened here",
                         closer_ch(cur->open_ch), cur->open_ch);
            if (is_closer(la))
                tx_hint(P->diags, g, "found %s first", found);
            return 0;
        }
    }

    /* 2. a keyword where a name belongs: `let for = 3`, `index = 2` */
    if (is_keyword(la) && has(exp, n, YYSYMBOL_NAME)) {
        tx_error(P->diags, at, "'%s' is a keyword and cannot be used as a name",
                 span_text(P, cur->span, ptext, sizeof ptext));
        return 0;
    }
    int k2 = P->prev2.kind;
    bool prev_starts_stmt = k2 == -1 || k2 == NEWLINE || k2 == SEMI || k2 == LBRACE || k2 == RBRACE;
    if (prev_real && is_keyword_tok(prev->kind) && prev_starts_stmt &&
        (la == YYSYMBOL_ASSIGN || la == YYSYMBOL_PLUSEQ || la == YYSYMBOL_LBRACK) && !has(exp, n, la)) {
        tx_error(P->diags, prev->span, "'%s' is a keyword and cannot be used as a name",
                 span_text(P, prev->span, ptext, sizeof ptext));
        return 0;
    }

    /* 3. an operand is required here */
    bool operand = has(exp, n, YYSYMBOL_NAME) && has(exp, n, YYSYMBOL_NUMBER) &&
                   has(exp, n, YYSYMBOL_LPAREN);
    bool optional = has(exp, n, YYSYMBOL_NEWLINE) || has(exp, n, YYSYMBOL_RPAREN) ||
                    has(exp, n, YYSYMBOL_RBRACK);
    if (operand && !optional) {
        const char *after = prev_real && quotable(prev->kind)
                                ? span_text(P, prev->span, ptext, sizeof ptext) : NULL;
        bool at_end = la == YYSYMBOL_NEWLINE || la == YYSYMBOL_YYEOF;
        if (after && at_end)
            g = tx_error(P->diags, at, "expected an expression after '%s'", after);
        else if (after)
            g = tx_error(P->diags, at, "expected an expression after '%s', found %s", after, found);
        else
            g = tx_error(P->diags, at, "expected an expression, found %s", found);
        if (prev->kind == STAR && la == YYSYMBOL_STAR && prev->span.hi == cur->span.lo)
            tx_hint(P->diags, g, "powers are written with '^': x^2");
        else if (prev->kind == ASSIGN && la == YYSYMBOL_ASSIGN && prev->span.hi == cur->span.lo)
            tx_hint(P->diags, g, "compare with '=='");
        return 0;
    }

    /* 4. a closing bracket that closes nothing */
    if (is_closer(la) && cur->unmatched) {
        g = tx_error(P->diags, at, "unexpected %s", found);
        tx_hint(P->diags, g, "there is no '%c' for it to close",
                la == YYSYMBOL_RPAREN ? '(' : la == YYSYMBOL_RBRACK ? '[' : '{');
        return 0;
    }

    /* 5. the general case, with the expected tokens when there are few */
    expected_list(exp, n, list, sizeof list);
    if (list[0])
        g = tx_error(P->diags, at, "unexpected %s; expected %s", found, list);
    else
        g = tx_error(P->diags, at, "unexpected %s", found);

    char ptext2[48];
    const char *pname = prev_real && prev->kind == NAME
                            ? span_text(P, prev->span, ptext2, sizeof ptext2) : "";
    if (la == YYSYMBOL_LBRACK && prev->kind == NAME && P->prev2.kind == LET)
        tx_hint(P->diags, g, "'let' binds a scalar; define a tensor without it: %s[...] = ...", pname);
    else if (la == YYSYMBOL_LBRACE && has(exp, n, YYSYMBOL_DOTDOT))
        tx_hint(P->diags, g, "a for loop runs over a range: for t in 0..n { ... }");
    else if (la == YYSYMBOL_NEWLINE && has(exp, n, YYSYMBOL_LBRACE))
        tx_hint(P->diags, g, "the '{' of a block goes on the same line");
    else if (la == YYSYMBOL_ASSIGN && has(exp, n, YYSYMBOL_EQ))
        tx_hint(P->diags, g, "compare with '=='");
    else if (strcmp(pname, "if") == 0 || strcmp(pname, "elif") == 0 || strcmp(pname, "else") == 0)
        tx_hint(P->diags, g, "tx has no 'if'; where(cond, a, b) picks per element");
    else if (strcmp(pname, "while") == 0)
        tx_hint(P->diags, g, "tx has no 'while'; loops are for t in a..b { ... }");
    else if ((la == YYSYMBOL_NAME || la == YYSYMBOL_LPAREN) && prev_real && prev->kind == NUMBER &&
             prev->span.hi == cur->span.lo && has(exp, n, YYSYMBOL_STAR))
        tx_hint(P->diags, g, "write '*' for a product: %s*%s",
                span_text(P, prev->span, ptext, sizeof ptext),
                la == YYSYMBOL_NAME ? span_text(P, cur->span, ptext2, sizeof ptext2) : "(...)");
    else if ((la == YYSYMBOL_NAME || la == YYSYMBOL_NUMBER || la == YYSYMBOL_STRING) &&
             has(exp, n, YYSYMBOL_COMMA) && P->top.n >= 0 && prev_real &&
             (prev->kind == NAME || prev->kind == NUMBER || prev->kind == STRING ||
              prev->kind == RPAREN || prev->kind == RBRACK))
        tx_hint(P->diags, g, "separate items with ','");
    return 0;
}

/* Only reached when bison itself runs out of stack or memory. */
static void yyerror(YYLTYPE *loc, yyscan_t scanner, tx_pstate *P, const char *msg) {
    (void)scanner;
    if (!P->quiet)
        tx_error(P->diags, *loc, "program too large or nested too deeply to parse (%s)", msg);
    P->quiet = true;
}

/* ---- entry point ----------------------------------------------------------- */

tx_ast_program *tx_parse(tx_arena *a, const tx_source *src, tx_diags *d) {
    tx_pstate P;
    memset(&P, 0, sizeof P);
    P.arena = a;
    P.diags = d;
    P.src = src;
    yyscan_t sc = tx_lex_open(&P);
    yyparse(sc, &P);
    tx_lex_close(sc);

    tx_ast_program *prog = TX_NEW(a, tx_ast_program);
    prog->src = src;
    prog->stmts = P.top.v;
    prog->nstmts = P.top.n;
    return prog;
}
