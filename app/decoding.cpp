// Greedy decoding and beam search over a PrefixDecoder (app/prefix_decoders.cpp):
// the search is written once, whichever way the next-token distribution is computed.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "app/seq2seq.hpp"
#include "engine/error.hpp"
#include "models/layers.hpp"

namespace attograd {
namespace {

std::int32_t argmax(const std::vector<float>& v) {
  return static_cast<std::int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

std::int64_t Seq2SeqModel::max_length(const TokenIds& src, const DecodeOptions& options) const {
  if (src.empty()) throw Error("[decode] empty source sequence");
  if (std::ssize(src) > kMaxPositions)
    throw Error(fmt::format("[decode] the input has {} tokens, more than the model's {} positions (its positional "
                            "encoding ends there)",
                            src.size(), kMaxPositions));
  const std::int64_t limit = options.max_length > 0 ? options.max_length : task_.max_target_length(src);
  if (limit > kMaxPositions)
    throw Error(fmt::format("[decode] {} output tokens{} need more than the model's {} positions (its positional "
                            "encoding ends there)",
                            limit, options.max_length > 0 ? " (--max-len)" : "", kMaxPositions));
  return limit;
}

TokenIds Seq2SeqModel::decode(const TokenIds& src, const DecodeOptions& options) {
  return options.beam == 1 ? greedy(src, options).ids : beam_search(src, options).front().ids;
}

Hypothesis Seq2SeqModel::greedy(const TokenIds& src, const DecodeOptions& options) {
  const std::int64_t limit = max_length(src, options);
  auto decoder = start_decoding({src}, options.cache);
  Hypothesis h{{task_.bos()}, 0.0, 0.0};
  for (std::int64_t step = 0; step < limit; ++step) {
    const std::vector<float> lp = decoder->advance({h.ids.back()})[0];
    const std::int32_t next = argmax(lp);
    h.ids.push_back(next);
    h.log_prob += lp[static_cast<std::size_t>(next)];
    if (next == task_.eos()) break;
  }
  h.score = h.log_prob;
  return h;
}

std::vector<Hypothesis> Seq2SeqModel::beam_search(const TokenIds& src, const DecodeOptions& o) {
  if (o.beam < 1) throw Error(fmt::format("[decode] beam size must be >= 1, got {}", o.beam));
  const std::int64_t limit = max_length(src, o);
  struct Hyp {
    Hypothesis h;
    bool done;
    std::size_t row;  // the decoder row of a live hypothesis
  };
  auto score = [&](const Hypothesis& h) {
    const double len = static_cast<double>(h.ids.size() - 1);
    return h.log_prob / std::pow((5.0 + len) / 6.0, o.length_penalty);
  };
  auto decoder = start_decoding({src}, o.cache);
  std::vector<Hyp> beams{{{{task_.bos()}, 0.0, 0.0}, false, 0}};
  TokenIds last{task_.bos()};  // the newest token of every live hypothesis, by row
  for (std::int64_t step = 0; step < limit && !last.empty(); ++step) {
    const auto lp = decoder->advance(last);
    std::vector<Hyp> candidates;
    for (const Hyp& b : beams) {
      if (b.done) {
        candidates.push_back(b);
        continue;
      }
      const auto& row = lp[b.row];
      for (std::size_t k = 0; k < row.size(); ++k) {
        if (static_cast<std::int32_t>(k) == task_.pad()) continue;
        Hyp c{b.h, static_cast<std::int32_t>(k) == task_.eos(), b.row};
        c.h.ids.push_back(static_cast<std::int32_t>(k));
        c.h.log_prob += row[k];
        candidates.push_back(std::move(c));
      }
    }
    for (Hyp& c : candidates) c.h.score = score(c.h);
    std::stable_sort(candidates.begin(), candidates.end(), [](const Hyp& a, const Hyp& b) { return a.h.score > b.h.score; });
    candidates.resize(std::min<std::size_t>(candidates.size(), static_cast<std::size_t>(o.beam)));
    beams = std::move(candidates);
    // The survivors that go on become the decoder's rows, in beam order.
    std::vector<std::size_t> rows;
    last.clear();
    for (Hyp& b : beams) {
      if (b.done) continue;
      rows.push_back(b.row);
      b.row = last.size();
      last.push_back(b.h.ids.back());
    }
    if (!last.empty()) decoder->select(rows);
  }
  std::vector<Hypothesis> out;
  for (const Hyp& b : beams) out.push_back(b.h);
  std::stable_sort(out.begin(), out.end(), [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
  return out;
}

std::vector<TokenIds> Seq2SeqModel::decode_batch(const std::vector<TokenIds>& srcs, bool cache) {
  if (srcs.empty()) return {};
  std::vector<TokenIds> ys(srcs.size(), TokenIds{task_.bos()});
  std::vector<std::int64_t> limit;
  for (const TokenIds& s : srcs) limit.push_back(max_length(s, {}));
  std::vector<bool> done(srcs.size(), false);
  auto decoder = start_decoding(srcs, cache);
  // Finished rows keep going on padding (their output is ignored) so that the rows stay one batch.
  TokenIds last(srcs.size(), task_.bos());
  for (std::int64_t step = 0; step < *std::max_element(limit.begin(), limit.end()); ++step) {
    const auto lp = decoder->advance(last);
    for (std::size_t i = 0; i < srcs.size(); ++i) {
      const std::int32_t next = argmax(lp[i]);
      last[i] = done[i] ? task_.pad() : next;
      if (done[i]) continue;
      ys[i].push_back(next);
      done[i] = next == task_.eos() || static_cast<std::int64_t>(ys[i].size()) - 1 >= limit[i];
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
  }
  return ys;
}

double Seq2SeqModel::exact_match(const std::vector<Example>& examples, std::size_t chunk, bool cache) {
  if (examples.empty()) return 0.0;
  std::size_t exact = 0;
  for (std::size_t i = 0; i < examples.size(); i += chunk) {
    std::vector<TokenIds> srcs;
    for (std::size_t k = i; k < std::min(examples.size(), i + chunk); ++k) srcs.push_back(examples[k].src);
    const std::vector<TokenIds> out = decode_batch(srcs, cache);
    for (std::size_t k = 0; k < out.size(); ++k) exact += out[k] == examples[i + k].tgt;
  }
  return static_cast<double>(exact) / static_cast<double>(examples.size());
}

}  // namespace attograd
