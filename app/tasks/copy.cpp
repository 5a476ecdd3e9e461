// The Annotated Transformer's synthetic copy task: V = 11 (0 is pad), a
// sequence of 10 tokens whose first is always 1, the rest uniform in 1..10;
// the target is the source. Decoding starts from 1.
#include <fmt/format.h>

#include "app/tasks/task.hpp"
#include "engine/error.hpp"

namespace attograd {
namespace {

constexpr std::int32_t kVocab = 11;
constexpr std::size_t kLength = 10;

TokenIds parse_ids(const std::string& text) {
  TokenIds ids;
  for (const std::string& w : split_words(text)) {
    std::size_t used = 0;
    int v = -1;
    try {
      v = std::stoi(w, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != w.size() || v < 1 || v >= kVocab)
      throw Error(fmt::format("[copy] token '{}' is not an id in 1..{}", excerpt(w), kVocab - 1));
    ids.push_back(v);
  }
  if (ids.empty()) throw Error("[copy] empty input: give ids such as \"1 2 3 4\"");
  return ids;
}

class CopyTask final : public Seq2SeqTask {
 public:
  std::string name() const override { return "copy"; }
  std::string summary() const override { return "copy 10 random tokens in 1..10 (the Annotated Transformer's task)"; }
  std::int64_t src_vocab() const override { return kVocab; }
  std::int64_t tgt_vocab() const override { return kVocab; }
  std::int32_t bos() const override { return 1; }

  Example sample(std::mt19937_64& rng) const override {
    std::uniform_int_distribution<std::int32_t> token(1, kVocab - 1);
    TokenIds seq(kLength);
    for (auto& t : seq) t = token(rng);
    seq[0] = 1;
    return {seq, seq};
  }
  std::int64_t max_target_length(const TokenIds& src) const override {
    return static_cast<std::int64_t>(src.size()) - 1;
  }
  TokenIds encode_source(const std::string& text) const override { return parse_ids(text); }
  TokenIds encode_target(const std::string& text) const override { return parse_ids(text); }
  std::string decode_target(const TokenIds& ids) const override { return fmt::format("{}", fmt::join(ids, " ")); }
  std::string token_text(std::int32_t id, Side) const override {
    if (id < 0 || id >= kVocab) throw Error(fmt::format("[copy] id {} is outside the vocabulary 0..{}", id, kVocab - 1));
    return std::to_string(id);
  }

  TaskDefaults defaults() const override {
    TaskDefaults d;  // 2 layers, D 512, F 2048, H 8, dropout 0.1, batch 30, 20 x 10 steps
    d.decode_example = "1 2 3 4 5 6 7 8 9 10";
    d.evaluate_every_epoch = true;  // as the Annotated Transformer
    return d;
  }
};

}  // namespace

std::unique_ptr<Seq2SeqTask> make_copy_task() { return std::make_unique<CopyTask>(); }

}  // namespace attograd
