#include "ops/gemm/multiply.hpp"

#include <xmmintrin.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "engine/tensor.hpp"
#include "ops/gemm/pack.hpp"

namespace attograd::gemm {
namespace {

// Output blocks a task owns. op(B) is packed once for all tasks, so a
// task reads it for free; op(A) is packed by every task for every
// contraction block and is worth reusing across as many columns as
// possible. So a task owns whole rows of C, kBlockRows of them; only when
// there are fewer than 4 row blocks are the columns cut too, into about 8
// blocks in all so that two or four threads can balance the load. Sizes
// only, never the thread count.
//
// kBlockRows by measurement (tools in the commit message): blocks of 24
// rows ran the step's shapes at 75 GFLOP/s, 36 at 73, 48 at 71-73, 96 at
// 69-70 (one Zen 3 core, thread CPU time, medians of 5 interleaved rounds);
// prefetching the next C tile made no difference and is not done.
//
// Every task reads all of packed op(B): 2 / rows bytes of B per flop. For a
// B of 16 MB (the (2048 x 2048) X of a D->F weight gradient over 2048
// tokens) that stream from L3 is what limits 24-row blocks (42-43 GFLOP/s
// against 52-60 with 96 rows, two runs), so a B over kLargeB words gets
// kLargeBRows rows.
constexpr std::int64_t kBlockRows = 24, kLargeBRows = 96, kLargeB = std::int64_t(1) << 21;
constexpr std::int64_t kBlocksWanted = 8, kMinBlockCols = 128;
constexpr double kTaskFlops = 2e6;  // parallel_for groups smaller tasks

std::int64_t round_up(std::int64_t x, std::int64_t to) { return (x + to - 1) / to * to; }
std::int64_t equal_parts(std::int64_t size, std::int64_t at_most, std::int64_t multiple) {
  const std::int64_t parts = (size + at_most - 1) / at_most;
  return round_up((size + parts - 1) / parts, multiple);
}

struct Blocks {
  std::int64_t rows, cols, row_count, col_count;
  Blocks(std::int64_t m, std::int64_t n, std::int64_t k) {
    rows = equal_parts(m, k * n > kLargeB ? kLargeBRows : kBlockRows, kTileRows);
    row_count = (m + rows - 1) / rows;
    const std::int64_t col_parts = row_count >= kBlocksWanted / 2 ? 1 : kBlocksWanted / row_count;
    cols = equal_parts(n, std::max(kMinBlockCols, round_up((n + col_parts - 1) / col_parts, kTileCols)), kTileCols);
    col_count = (n + cols - 1) / cols;
  }
};

// A per-thread buffer, 64-byte aligned, grown on demand and kept.
struct Scratch {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> memory;
  std::int64_t bytes = 0;
  void* get(std::int64_t wanted) {
    if (wanted > bytes) {
      bytes = round_up(wanted, 64);
      memory.reset(std::aligned_alloc(64, std::size_t(bytes)));
    }
    return memory.get();
  }
};
float* a_scratch(std::int64_t floats) {
  thread_local Scratch s;
  return static_cast<float*>(s.get(floats * 4));
}
std::uint32_t* b_scratch(std::int64_t words) {
  thread_local Scratch s;
  return static_cast<std::uint32_t*>(s.get(words * 4));
}

// VDPBF16PS rounds to nearest even, reads denormal inputs as zero and
// flushes denormal results, whatever MXCSR says; the emulating FMAs do the
// same under MXCSR = DAZ | FTZ | round to nearest, set for the task's
// duration (bits 6 DAZ, 15 FTZ, 13-14 rounding control).
class BfloatRounding {
 public:
  explicit BfloatRounding(bool active) : active_(active), saved_(active ? _mm_getcsr() : 0) {
    if (active_) _mm_setcsr((saved_ & ~0x6000u) | 0x8040u);
  }
  ~BfloatRounding() {
    if (active_) _mm_setcsr(saved_);
  }
  BfloatRounding(const BfloatRounding&) = delete;
  BfloatRounding& operator=(const BfloatRounding&) = delete;

 private:
  bool active_;
  unsigned saved_;
};

// One tile through `kernel`; a tile cut by the edge of C (rows < 6 or
// cols < 16) runs on a full local copy.
template <class Kernel, class Word>
void run_tile(Kernel kernel, std::int64_t depth, const float* a, const Word* b, const float* start,
              std::int64_t start_ld, float* c, std::int64_t ldc, std::int64_t rows, std::int64_t cols) {
  if (rows == kTileRows && cols == kTileCols) return kernel(depth, a, b, start, start_ld, c, ldc);
  alignas(64) float tile[kTileRows * kTileCols] = {};
  if (start)
    for (std::int64_t i = 0; i < rows; ++i) std::copy_n(start + i * start_ld, cols, tile + i * kTileCols);
  kernel(depth, a, b, start ? tile : nullptr, kTileCols, tile, kTileCols);
  for (std::int64_t i = 0; i < rows; ++i) std::copy_n(tile + i * kTileCols, cols, c + i * ldc);
}

// Rows [r0, r0 + rows) x columns [j0, j0 + cols) of C over the whole
// contraction, block after block; a block after the first starts from C.
void run_block(const Kernels& kernels, Operand a, const PackedView& b, std::int64_t r0, std::int64_t rows,
               std::int64_t j0, std::int64_t cols, float* c, std::int64_t ldc, Start start) {
  const bool bf16 = b.precision == Precision::bf16;
  float* a_pack = a_scratch(packed_a_floats(rows, b.block, b.precision));
  for (std::int64_t k0 = 0; k0 < b.k; k0 += b.block) {
    const std::int64_t depth = std::min(b.block, b.k - k0), steps = bf16 ? (depth + 1) / 2 : depth;
    const std::int64_t a_panel = packed_a_floats(kTileRows, depth, b.precision);
    pack_a(a, r0, rows, k0, depth, b.precision, a_pack);
    for (std::int64_t jj = 0; jj < cols; jj += kTileCols) {
      const std::uint32_t* b_panel = b.panel(k0, j0 + jj);
      for (std::int64_t ii = 0; ii < rows; ii += kTileRows) {
        float* tile = c + (r0 + ii) * ldc + j0 + jj;
        const float* from = k0 > 0 || start.from == Start::From::c ? tile
                            : start.from == Start::From::bias      ? start.bias + j0 + jj
                                                                   : nullptr;
        const std::int64_t from_ld = from == tile ? ldc : 0;
        const std::int64_t tile_rows = std::min(kTileRows, rows - ii), tile_cols = std::min(kTileCols, cols - jj);
        const float* a_tile = a_pack + ii / kTileRows * a_panel;
        if (bf16)
          run_tile(kernels.bf16, steps, a_tile, b_panel, from, from_ld, tile, ldc, tile_rows, tile_cols);
        else
          run_tile(kernels.f32, steps, a_tile, reinterpret_cast<const float*>(b_panel), from, from_ld, tile, ldc,
                   tile_rows, tile_cols);
      }
    }
  }
}

// C = start when the contraction is empty.
void fill_start(std::int64_t m, std::int64_t n, float* c, std::int64_t ldc, Start start) {
  if (start.from == Start::From::c) return;
  for (std::int64_t i = 0; i < m; ++i) {
    if (start.from == Start::From::bias) std::copy_n(start.bias, n, c + i * ldc);
    else std::fill_n(c + i * ldc, n, 0.0f);
  }
}

// Every output block of one product, sequentially (a batched task).
void run_product(const Kernels& kernels, std::int64_t m, Operand a, const PackedView& b, float* c, std::int64_t ldc,
                 Start start) {
  const Blocks blocks(m, b.n, b.k);
  for (std::int64_t r0 = 0; r0 < m; r0 += blocks.rows)
    for (std::int64_t j0 = 0; j0 < b.n; j0 += blocks.cols)
      run_block(kernels, a, b, r0, std::min(blocks.rows, m - r0), j0, std::min(blocks.cols, b.n - j0), c, ldc, start);
}

void multiply_packed(const Parallel& parallel, std::int64_t m, Operand a, const PackedView& b, float* c,
                     std::int64_t ldc, Start start, Isa isa) {
  if (m == 0 || b.n == 0) return;
  if (b.k == 0) return fill_start(m, b.n, c, ldc, start);
  const Kernels& chosen = kernels(isa);
  const Blocks blocks(m, b.n, b.k);
  const double task_flops = 2.0 * double(blocks.rows) * double(blocks.cols) * double(b.k);
  const auto grain = std::max<std::int64_t>(1, std::int64_t(kTaskFlops / task_flops));
  parallel.parallel_for(blocks.row_count * blocks.col_count, grain, [&](std::int64_t lo, std::int64_t hi) {
    BfloatRounding rounding(b.precision == Precision::bf16);
    for (std::int64_t task = lo; task < hi; ++task) {
      const std::int64_t r0 = task / blocks.col_count * blocks.rows, j0 = task % blocks.col_count * blocks.cols;
      run_block(chosen, a, b, r0, std::min(blocks.rows, m - r0), j0, std::min(blocks.cols, b.n - j0), c, ldc, start);
    }
  });
}

}  // namespace

void multiply(const Parallel& parallel, std::int64_t m, Operand a, const PackedMatrix& b, float* c, std::int64_t ldc,
              Start start, Isa isa) {
  multiply_packed(parallel, m, a, b.view(), c, ldc, start, isa);
}

void multiply(const Parallel& parallel, std::int64_t m, std::int64_t n, std::int64_t k, Operand a, Operand b,
              float* c, std::int64_t ldc, Start start, Options options) {
  if (m == 0 || n == 0) return;
  if (k == 0) return fill_start(m, n, c, ldc, start);
  Tensor storage = Tensor::empty(DType::f32, {packed_words(k, n, options.precision)});
  auto* words = reinterpret_cast<std::uint32_t*>(storage.data<float>());
  pack_b_parallel(parallel, b, k, n, options.precision, words);
  multiply_packed(parallel, m, a, {words, k, n, depth_block(k), options.precision}, c, ldc, start, options.isa);
}

void multiply_batched(const Parallel& parallel, Batch batch, std::int64_t m, std::int64_t n, std::int64_t k,
                      Operand a, Operand b, float* c, std::int64_t ldc, Start start, Options options) {
  if (batch.count == 1) return multiply(parallel, m, n, k, a, b, c, ldc, start, options);
  if (batch.count == 0 || m == 0 || n == 0) return;
  const Kernels& chosen = kernels(options.isa);
  const double item_flops = 2.0 * double(m) * double(n) * double(k);
  const auto grain = std::max<std::int64_t>(1, std::int64_t(kTaskFlops / std::max(item_flops, 1.0)));
  parallel.parallel_for(batch.count, grain, [&](std::int64_t lo, std::int64_t hi) {
    BfloatRounding rounding(options.precision == Precision::bf16);
    for (std::int64_t item = lo; item < hi; ++item) {
      float* c_item = c + item * batch.stride_c;
      if (k == 0) {
        fill_start(m, n, c_item, ldc, start);
        continue;
      }
      Operand a_item = a, b_item = b;
      a_item.data += item * batch.stride_a;
      b_item.data += item * batch.stride_b;
      std::uint32_t* words = b_scratch(packed_words(k, n, options.precision));
      pack_b(b_item, k, n, options.precision, 0, panel_count(k, n), words);
      run_product(chosen, m, a_item, {words, k, n, depth_block(k), options.precision}, c_item, ldc, start);
    }
  });
}

}  // namespace attograd::gemm
