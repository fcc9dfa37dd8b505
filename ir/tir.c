/*
 * tir.c -- small facts about the tensor IR's operators (ir/tir.h).
 */
#include "ir/tir.h"

bool tx_tir_op_is_binary(tx_tir_op op) {
    return op >= TX_TOP_ADD && op <= TX_TOP_MIN2;
}

/* ORDER: tx_tir_op in ir/tir.h. */
static const char *const op_names[TX_TOP__COUNT] = {
    [TX_TOP_ADD] = "+",       [TX_TOP_SUB] = "-",       [TX_TOP_MUL] = "*",     [TX_TOP_DIV] = "/",
    [TX_TOP_POW] = "^",       [TX_TOP_LT] = "<",        [TX_TOP_LE] = "<=",     [TX_TOP_GT] = ">",
    [TX_TOP_GE] = ">=",       [TX_TOP_EQ] = "==",       [TX_TOP_NE] = "!=",     [TX_TOP_MAX2] = "max",
    [TX_TOP_MIN2] = "min",    [TX_TOP_NEG] = "-",       [TX_TOP_EXP] = "exp",   [TX_TOP_LOG] = "log",
    [TX_TOP_SQRT] = "sqrt",   [TX_TOP_ABS] = "abs",     [TX_TOP_SIN] = "sin",   [TX_TOP_COS] = "cos",
    [TX_TOP_TAN] = "tan",     [TX_TOP_TANH] = "tanh",   [TX_TOP_SIGMOID] = "sigmoid",
    [TX_TOP_RELU] = "relu",   [TX_TOP_SIGN] = "sign",   [TX_TOP_FLOOR] = "floor", [TX_TOP_CEIL] = "ceil",
    [TX_TOP_CONJ] = "conj",   [TX_TOP_REAL] = "real",   [TX_TOP_IMAG] = "imag",
};

const char *tx_tir_op_name(tx_tir_op op) {
    if ((int)op < 0 || op >= TX_TOP__COUNT) return "?";
    return op_names[op];
}
