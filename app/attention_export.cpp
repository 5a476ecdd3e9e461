#include "app/attention_export.hpp"

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

std::vector<std::string> labels(const Seq2SeqTask& task, TokenIds::const_iterator begin, TokenIds::const_iterator end,
                                Seq2SeqTask::Side side) {
  std::vector<std::string> out;
  for (auto it = begin; it != end; ++it) out.push_back(task.token_text(*it, side));
  return out;
}

AttentionKind kind_of(const std::string& kind) {
  if (kind == "encoder") return AttentionKind::encoder_self;
  if (kind == "decoder") return AttentionKind::decoder_self;
  if (kind == "cross") return AttentionKind::cross;
  throw Error(fmt::format("[attention] unknown attention kind '{}' from the model", kind));
}

std::vector<float> as_floats(const Tensor& t) {
  if (t.dtype() == DType::f32) return {t.data<float>(), t.data<float>() + t.numel()};
  const std::vector<double> d = t.to_vector();
  return {d.begin(), d.end()};
}

}  // namespace

std::vector<AttentionMap> label_attention(const std::vector<Seq2SeqModel::AttentionMaps>& raw,
                                          const Seq2SeqTask& task, const TokenIds& src, const TokenIds& tgt) {
  using Side = Seq2SeqTask::Side;
  const std::vector<std::string> source = labels(task, src.begin(), src.end(), Side::source);
  const std::vector<std::string> decoder_in = labels(task, tgt.begin(), tgt.end() - 1, Side::target);
  std::vector<AttentionMap> maps;
  for (const Seq2SeqModel::AttentionMaps& r : raw) {
    AttentionMap m;
    m.kind = kind_of(r.kind);
    m.layer = r.layer;
    m.queries = m.kind == AttentionKind::encoder_self ? source : decoder_in;
    m.keys = m.kind == AttentionKind::decoder_self ? decoder_in : source;
    m.heads = static_cast<int>(r.weights.shape()[0]);
    m.weights = as_floats(r.weights);
    check_attention_map(m);
    maps.push_back(std::move(m));
  }
  return maps;
}

DecodedAttention decoded_attention(Seq2SeqModel& model, const Seq2SeqTask& task, const TokenIds& src) {
  DecodedAttention a;
  a.src = src;
  a.decoded = model.decode(src);
  if (a.decoded.size() < 2)
    throw Error("[attention] the model decoded nothing from this input: no decoder step to draw");
  a.maps = label_attention(model.attention(src, a.decoded), task, src, a.decoded);
  return a;
}

}  // namespace attograd
