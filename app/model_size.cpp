#include "app/model_size.hpp"

#include <fmt/format.h>

namespace attograd {
namespace {

constexpr double kSeq2SeqLength = 16;

using Shapes = std::map<std::string, Shape>;

void linear(Shapes& out, const std::string& name, std::int64_t in, std::int64_t outs) {
  out[name + ".weight"] = {outs, in};
  out[name + ".bias"] = {outs};
}
void norm(Shapes& out, const std::string& name, std::int64_t d) { out[name + ".weight"] = out[name + ".bias"] = {d}; }
void attention(Shapes& out, const std::string& name, std::int64_t d) {
  for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) linear(out, name + "." + proj, d, d);
}

// A layer of `attentions` attention blocks ("self_attn", "src_attn") and a feed-forward block.
void layer(Shapes& out, const std::string& name, const TransformerConfig& c, std::initializer_list<const char*> attentions) {
  int norms = 0;
  for (const char* a : attentions) {
    attention(out, name + "." + a, c.d_model);
    norm(out, fmt::format("{}.norm{}", name, ++norms), c.d_model);
  }
  linear(out, name + ".feed_forward.linear1", c.d_model, c.d_ff);
  linear(out, name + ".feed_forward.linear2", c.d_ff, c.d_model);
  norm(out, fmt::format("{}.norm{}", name, ++norms), c.d_model);
}

void stack(Shapes& out, const std::string& prefix, const TransformerConfig& c, std::initializer_list<const char*> attentions) {
  for (std::int64_t i = 0; i < c.layers; ++i) layer(out, fmt::format("{}layers.{}", prefix, i), c, attentions);
  if (c.norm == NormPlacement::pre) norm(out, prefix + "norm", c.d_model);  // the final norm of pre-norm stacks
}

}  // namespace

std::map<std::string, Shape> expected_parameters(const RunConfig& config) {
  const TransformerConfig& c = config.model;
  Shapes out;
  if (config.task == "lm") {
    out["embed.weight"] = {c.tgt_vocab, c.d_model};
    stack(out, "", c, {"self_attn"});
  } else {
    out["src_embed.weight"] = {c.src_vocab, c.d_model};
    out["tgt_embed.weight"] = {c.tgt_vocab, c.d_model};
    stack(out, "encoder.", c, {"self_attn"});
    stack(out, "decoder.", c, {"self_attn", "src_attn"});
  }
  linear(out, "generator", c.d_model, c.tgt_vocab);
  return out;
}

double estimated_training_bytes(const RunConfig& config) {
  const TransformerConfig& c = config.model;
  // Counted in doubles: a hostile configuration must not overflow the estimate (the caller bounds the layers).
  const double d = static_cast<double>(c.d_model), f = static_cast<double>(c.d_ff), h = static_cast<double>(c.heads);
  double params = 0;
  for (const auto& [name, shape] : expected_parameters(config)) {
    double n = 1;
    for (const std::int64_t extent : shape) n *= static_cast<double>(extent);
    params += n;
  }
  const double layers = static_cast<double>(c.layers) * (config.task == "lm" ? 1 : 2);  // encoder and decoder
  const double t = config.task == "lm" ? static_cast<double>(config.context) : kSeq2SeqLength;
  const double b = static_cast<double>(config.batch);
  // Per layer: ~12 (B, T, D) values, 2 (B, T, F), 3 (B, H, T, T); and the logits (B, T, V).
  const double activations = b * t * (layers * (12 * d + 2 * f + 3 * h * t) + static_cast<double>(c.tgt_vocab));
  return 4.0 * (4 * params + activations);
}

}  // namespace attograd
