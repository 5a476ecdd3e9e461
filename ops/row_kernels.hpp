// Helpers for ops that work row by row over the last axis (layer_norm,
// embedding, cross_entropy). Internal to ops/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "engine/context.hpp"

namespace attograd::kernels {

// Rows per parallel block for rows of `cols` elements: about 16K elements a
// block. Depends only on the row length, never on the thread count.
inline std::int64_t rows_per_block(std::int64_t cols) {
  return std::max<std::int64_t>(1, (std::int64_t{1} << 14) / std::max<std::int64_t>(cols, 1));
}

// body(row_begin, row_end) over fixed blocks of `rows` rows of `cols` elements.
template <class F>
void parallel_rows(const OpContext& ctx, std::int64_t rows, std::int64_t cols, F body) {
  ctx.parallel_for(rows, rows_per_block(cols), body);
}

// Position of the first id outside [0, size) that is not `skip`, if any.
// Checked on one thread before a kernel runs, so the error names the first bad
// id whatever the thread count.
inline std::optional<std::int64_t> first_out_of_range(const std::int32_t* ids, std::int64_t n, std::int64_t size,
                                                      std::optional<std::int64_t> skip = std::nullopt) {
  for (std::int64_t i = 0; i < n; ++i)
    if ((ids[i] < 0 || ids[i] >= size) && (!skip || ids[i] != *skip)) return i;
  return std::nullopt;
}

}  // namespace attograd::kernels
