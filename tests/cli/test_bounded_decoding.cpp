// Decoding is bounded (issue 18, item 5): the incremental decoder builds a
// graph per output position, and keeps only the 64 most recently used, so a
// long decode's memory grows with its length, not its square; an input
// longer than the model's positions is refused with a clear message.
#include <doctest/doctest.h>

#include "app/seq2seq.hpp"
#include "app/tasks/task.hpp"
#include "cli_check.hpp"
#include "engine/error.hpp"
#include "models/layers.hpp"

namespace attograd::test {
namespace {

struct TinyCopyModel {
  std::unique_ptr<Seq2SeqTask> task = make_task("copy");
  TransformerConfig config = [this] {
    TransformerConfig c;
    c.src_vocab = c.tgt_vocab = task->src_vocab();
    c.layers = 1, c.d_model = 16, c.heads = 2, c.d_ff = 32, c.dropout = 0;
    return c;
  }();
  Seq2SeqModel model{*task, config, /*seed=*/3, /*threads=*/1, /*label_smoothing=*/0.0};
};

TokenIds ones(std::size_t n) { return TokenIds(n, 1); }

}  // namespace

TEST_CASE("a long decode keeps at most 64 step graphs and decodes as the uncached oracle does") {
  TinyCopyModel m;
  DecodeOptions cached;
  cached.max_length = 150;  // an untrained model never says end: 150 positions
  const Hypothesis h = m.model.greedy(ones(5), cached);
  CHECK(h.ids.size() == 151);
  CHECK(m.model.cached_step_graphs() == Seq2SeqModel::kCachedDecoderGraphs);
  DecodeOptions full = cached;
  full.cache = false;
  CHECK(m.model.greedy(ones(5), full).ids == h.ids);  // evicted graphs are rebuilt exactly
  CHECK(m.model.greedy(ones(5), cached).ids == h.ids);
  CHECK(m.model.cached_step_graphs() == Seq2SeqModel::kCachedDecoderGraphs);
}

TEST_CASE("an input or output past the model's positions is refused naming the limit") {
  TinyCopyModel m;
  CHECK_THROWS_WITH_AS(m.model.decode(ones(kMaxPositions + 1)),
                       "[decode] the input has 1025 tokens, more than the model's 1024 positions (its positional "
                       "encoding ends there)",
                       Error);
  DecodeOptions o;
  o.max_length = kMaxPositions + 1;
  CHECK_THROWS_WITH_AS(m.model.decode(ones(3), o), doctest::Contains("1025 output tokens (--max-len) need more than"),
                       Error);
  Graph g;
  CHECK_THROWS_WITH_AS(positional_encoding(g, 2, 8, kMaxPositions - 1),
                       doctest::Contains("positions 1023..1024 run past the model's last position 1023"), ShapeError);
}

TEST_CASE("decode refuses a 2,000-token input at once") {
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "3 ";
  const CliResult r = run_attograd({"decode", "copy", "--load", trained_copy_model(), "--input", input, "--threads", "1"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "[decode] the input has 2000 tokens, more than the model's 1024 positions"));
}

}  // namespace attograd::test
