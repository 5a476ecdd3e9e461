#include "ops/embedding.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "engine/context.hpp"
#include "engine/error.hpp"
#include "engine/op_samples.hpp"
#include "engine/registry.hpp"
#include "ops/row_kernels.hpp"

namespace attograd {
namespace {

using kernels::parallel_rows;

// Positions grouped by id with a stable counting sort: the positions holding
// id v are order[start[v] .. start[v + 1]), in increasing order.
struct IdGroups {
  std::vector<std::int64_t> start;
  std::vector<std::int64_t> order;
};

IdGroups group_by_id(const std::int32_t* ids, std::int64_t n, std::int64_t V) {
  IdGroups groups;
  groups.start.assign(static_cast<std::size_t>(V + 1), 0);
  for (std::int64_t i = 0; i < n; ++i) ++groups.start[static_cast<std::size_t>(ids[i]) + 1];
  for (std::int64_t v = 0; v < V; ++v) groups.start[v + 1] += groups.start[v];
  std::vector<std::int64_t> next(groups.start.begin(), groups.start.end() - 1);
  groups.order.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) groups.order[next[ids[i]]++] = i;
  return groups;
}

class EmbeddingOp final : public Op {
 public:
  std::string name() const override { return "embedding"; }

  TensorType infer(std::span<const TensorType> in) const override {
    if (in.size() != 2) throw ShapeError(fmt::format("[embedding] takes ids and table, got {} inputs", in.size()));
    const TensorType &ids = in[0], &table = in[1];
    if (ids.dtype != DType::i32)
      throw ShapeError(fmt::format("[embedding] ids must be i32, got {}", to_string(ids)));
    if (!is_floating(table.dtype) || table.shape.size() != 2)
      throw ShapeError(fmt::format("[embedding] table must be a floating (V, D) matrix, got {}", to_string(table)));
    Shape out = ids.shape;
    out.push_back(table.shape[1]);
    return {table.dtype, out};
  }

  Tensor forward(OpContext& c) const override {
    const Tensor &ids = c.input(0), &table = c.input(1);
    const std::int64_t n = ids.numel(), V = table.dim(0), D = table.dim(1);
    const std::int32_t* pid = ids.data<std::int32_t>();
    if (auto bad = kernels::first_out_of_range(pid, n, V))
      throw Error(fmt::format("[embedding] id {} at position {} of ids {} is out of range for a table of V = {} rows",
                              pid[*bad], *bad, to_string(ids.shape()), V));
    Tensor out = c.allocate_output();
    visit_floating(table.dtype(), [&]<class T>(T) {
      const T* src = table.data<T>();
      T* dst = out.data<T>();
      parallel_rows(c, n, D, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t i = lo; i < hi; ++i) std::copy_n(src + pid[i] * D, D, dst + i * D);
      });
    });
    return out;
  }

  // dtable[v] = sum of g rows at the positions of id v. Each block of
  // vocabulary rows is owned by one task, and a row adds its positions in
  // increasing order: the same sums, in the same order, on any thread count.
  std::vector<Tensor> backward(OpContext& c) const override {
    const Tensor &ids = c.input(0), &g = c.grad_output();
    const Shape& table_shape = c.input_type(1).shape;
    const std::int64_t V = table_shape[0], D = table_shape[1];
    const IdGroups groups = group_by_id(ids.data<std::int32_t>(), ids.numel(), V);
    Tensor dtable = Tensor::empty(g.dtype(), table_shape);
    visit_floating(g.dtype(), [&]<class T>(T) {
      const T* pg = g.data<T>();
      T* pd = dtable.data<T>();
      parallel_rows(c, V, D, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t v = lo; v < hi; ++v) {
          T* row = pd + v * D;
          std::fill_n(row, D, T(0));
          for (std::int64_t k = groups.start[v]; k < groups.start[v + 1]; ++k) {
            const T* src = pg + groups.order[k] * D;
            for (std::int64_t d = 0; d < D; ++d) row[d] += src[d];
          }
        }
      });
    });
    return {Tensor(), dtable};
  }
  bool differentiable(std::size_t input) const override { return input == 1; }
  bool backward_reads_input(std::size_t input) const override { return input == 0; }
  bool backward_reads_output() const override { return false; }

  Cost cost(std::span<const TensorType> in, const TensorType& out) const override {
    const double n = static_cast<double>(numel(out.shape)), e = static_cast<double>(dtype_size(out.dtype));
    const double table = static_cast<double>(numel(in[1].shape)) * e;
    return {0, n, 2 * n * e, n * e + table};
  }
};

}  // namespace

Expr embedding(Expr ids, Expr table) { return ids.graph->add(std::make_shared<EmbeddingOp>(), {ids, table}); }

void register_embedding_ops(OpRegistry& r) {
  using namespace samples;
  // Repeated ids (their gradient rows add up), unused table rows, one row, scalar ids.
  r.add({"embedding", "ids i32 (...), table (V, D) -> table rows (..., D)",
         [](const Attributes&) -> OpPtr { return std::make_shared<EmbeddingOp>(); },
         {sample({ids({2, 3}, {4, 0, 4, 2, 4, 0}), uniform({5, 3})}), sample({ids({1}, {0}), uniform({1, 1})}),
          sample({ids({}, {1}), uniform({3, 2})})},
         {shape_error({f32({2}), f32({4, 2})}), shape_error({i32({2}), f64({4})}),
          shape_error({i32({2}), i32({4, 2})})}});
}

}  // namespace attograd
