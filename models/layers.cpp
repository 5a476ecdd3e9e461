#include "models/layers.hpp"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/leaves.hpp"
#include "engine/parameters.hpp"
#include "ops/activations.hpp"
#include "ops/dropout.hpp"
#include "ops/elementwise.hpp"
#include "ops/embedding.hpp"
#include "ops/layer_norm.hpp"
#include "ops/linear.hpp"
#include "ops/matmul.hpp"

namespace attograd {

Expr linear(Expr x, std::int64_t out_features, bool bias) {
  Graph& g = *x.graph;
  Expr w = parameter(g, "weight", {out_features, x.dim(-1)}, Init::xavier_uniform());
  if (!bias) return matmul(x, w, false, /*transpose_b=*/true);
  return attograd::linear(x, w, parameter(g, "bias", {out_features}, Init::zeros()));
}

Expr layer_norm(Expr x, double eps) {
  Graph& g = *x.graph;
  const std::int64_t d = x.dim(-1);
  return layer_norm(x, parameter(g, "weight", {d}, Init::ones()), parameter(g, "bias", {d}, Init::zeros()), eps);
}

Expr feed_forward(Expr x, std::int64_t d_ff, Activation activation, double p) {
  Graph& g = *x.graph;
  const std::int64_t d = x.dim(-1);
  Expr h;
  {
    auto s = g.scope("linear1");
    h = linear(x, d_ff);
  }
  h = activation == Activation::relu ? relu(h) : gelu(h);
  h = dropout(h, p);
  auto s = g.scope("linear2");
  return linear(h, d);
}

Expr token_embedding(Expr ids, std::int64_t vocab, std::int64_t d_model) {
  Graph& g = *ids.graph;
  // Xavier-uniform like every matrix of the Annotated Transformer.
  Expr table = parameter(g, "weight", {vocab, d_model}, Init::xavier_uniform());
  return scale(embedding(ids, table), std::sqrt(static_cast<double>(d_model)));
}

Expr positional_encoding(Graph& g, std::int64_t length, std::int64_t d_model, std::int64_t first) {
  if (first < 0 || length < 0 || first + length > kMaxPositions)
    throw ShapeError(fmt::format("[positional_encoding] positions {}..{} run past the model's last position {} "
                                 "(positional encodings end at kMaxPositions = {})",
                                 first, first + length - 1, kMaxPositions - 1, kMaxPositions));
  Tensor pe = Tensor::empty(g.dtype(), {1, length, d_model});
  visit_floating(g.dtype(), [&]<class T>(T) {
    T* p = pe.data<T>();
    for (std::int64_t t = 0; t < length; ++t)
      for (std::int64_t i = 0; i < d_model; i += 2) {
        const double angle = static_cast<double>(first + t) / std::pow(10000.0, static_cast<double>(i) / static_cast<double>(d_model));
        p[t * d_model + i] = static_cast<T>(std::sin(angle));
        if (i + 1 < d_model) p[t * d_model + i + 1] = static_cast<T>(std::cos(angle));
      }
  });
  return constant(g, pe);
}

}  // namespace attograd
