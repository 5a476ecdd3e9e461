// Embedding lookup: row ids[...] of a table.
//
//   embedding(ids, table)   ids i32 (...), table (V, D) -> (..., D)
//   out[b, t, :] = table[ids[b, t], :]
//
//   ids (B, T) = [[2, 0]], table (3, 2) = [[1, 2], [3, 4], [5, 6]] -> [[[5, 6], [1, 2]]]
//
// Backward: dtable[v, :] = sum of g[b, t, :] over the positions where ids == v
// (a repeated id accumulates), added in position order: deterministic for any
// thread count. ids get no gradient. An id outside [0, V) is an error that
// names the id, its position and V.
#pragma once

#include "engine/graph.hpp"

namespace attograd {

Expr embedding(Expr ids, Expr table);

class OpRegistry;
void register_embedding_ops(OpRegistry& registry);

}  // namespace attograd
