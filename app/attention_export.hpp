// The attention weights of one decoded example as viz AttentionMaps, with the
// tokens written on the axes — what `attograd attention` draws and writes as
// JSON.
//
// The source is decoded greedily; then one teacher-forced pass over
// (source, decoded) records every layer's weights. Axis labels:
//   encoder self-attention  queries = keys = source tokens           (H, S, S)
//   decoder self-attention  queries = keys = decoder input tokens    (H, T, T)
//   cross-attention         queries = decoder input, keys = source   (H, T, S)
// where the decoder input is decoded[:-1] (bos + the output but its last
// token): query t reads token decoded[t] and predicts decoded[t + 1].
//
//   LoadedSeq2Seq m = load_seq2seq("copy.safetensors", "copy", 0);
//   DecodedAttention a = decoded_attention(*m.model, *m.task, m.task->encode_source("1 2 3 4"));
//   save_attention_plots(a.maps, "attn.svg");   // attn_cross_attention.svg, ...
#pragma once

#include <vector>

#include "app/seq2seq.hpp"
#include "viz/attention_map.hpp"

namespace attograd {

struct DecodedAttention {
  TokenIds src;
  TokenIds decoded;                // bos + output tokens (+ eos)
  std::vector<AttentionMap> maps;  // every (kind, layer), in the model's order
};

// Throws Error "[attention] ..." when the decoded output is empty (nothing to
// attend from).
DecodedAttention decoded_attention(Seq2SeqModel& model, const Seq2SeqTask& task, const TokenIds& src);

// The labelled maps of (src, tgt) (tgt starting with bos) from the model's
// raw (H, T, S) weights.
std::vector<AttentionMap> label_attention(const std::vector<Seq2SeqModel::AttentionMaps>& raw,
                                          const Seq2SeqTask& task, const TokenIds& src, const TokenIds& tgt);

}  // namespace attograd
