// Tasks and the sequence model's decoding helpers, in process.
#include <doctest/doctest.h>

#include "app/seq2seq.hpp"
#include "app/tasks/task.hpp"
#include "engine/error.hpp"

namespace attograd {
std::string number_to_words(int n);
namespace {

TransformerConfig tiny_config(const Seq2SeqTask& task) {
  TransformerConfig c;
  c.src_vocab = task.src_vocab();
  c.tgt_vocab = task.tgt_vocab();
  c.layers = 1, c.d_model = 16, c.heads = 2, c.d_ff = 32, c.dropout = 0;
  c.norm = NormPlacement::pre;
  return c;
}

TEST_CASE("copy tokens are written as their ids on both sides") {
  auto task = make_task("copy");
  CHECK(task->token_text(7, Seq2SeqTask::Side::source) == "7");
  CHECK(task->token_text(1, Seq2SeqTask::Side::target) == "1");
  CHECK_THROWS_AS(task->token_text(11, Seq2SeqTask::Side::source), Error);
}

TEST_CASE("numbers tokens are digits on the source side and words on the target side") {
  auto task = make_task("numbers");
  const TokenIds src = task->encode_source("407");
  REQUIRE(src.size() == 3);
  CHECK(task->token_text(src[0], Seq2SeqTask::Side::source) == "4");
  CHECK(task->token_text(src[1], Seq2SeqTask::Side::source) == "0");
  const TokenIds tgt = task->encode_target(number_to_words(407));
  std::vector<std::string> words;
  for (auto id : tgt) words.push_back(task->token_text(id, Seq2SeqTask::Side::target));
  CHECK(words == std::vector<std::string>{"<s>", "four", "hundred", "seven", "</s>"});
  CHECK_THROWS_AS(task->token_text(1000, Seq2SeqTask::Side::target), Error);
}

TEST_CASE("sample_examples are the examples of sample_batch") {
  auto task = make_task("numbers");
  const auto examples = sample_examples(*task, 3, 5, 4);
  const Batch a = make_batch(examples), b = sample_batch(*task, 3, 5, 4);
  CHECK(a.src.bit_equal(b.src));
  CHECK(a.tgt_out.bit_equal(b.tgt_out));
}

TEST_CASE("batched greedy decoding of sources of different lengths equals decoding each alone") {
  auto task = make_task("numbers");
  Seq2SeqModel model(*task, tiny_config(*task), 7, 1, 0.0);
  std::vector<TokenIds> srcs;
  for (const char* n : {"5", "123456", "40213", "70"}) srcs.push_back(task->encode_source(n));
  const std::vector<TokenIds> together = model.decode_batch(srcs);
  REQUIRE(together.size() == srcs.size());
  for (std::size_t i = 0; i < srcs.size(); ++i) CHECK(together[i] == model.decode(srcs[i]));
}

TEST_CASE("exact match counts the examples whose greedy decoding equals the target") {
  auto task = make_task("copy");
  Seq2SeqModel model(*task, tiny_config(*task), 7, 1, 0.0);
  const TokenIds src{1, 2, 3, 4};
  const TokenIds decoded = model.decode(src);
  TokenIds wrong = decoded;
  wrong.back() = wrong.back() == 5 ? 6 : 5;
  CHECK(model.exact_match({{src, decoded}, {src, wrong}}) == doctest::Approx(0.5));
  CHECK(model.exact_match({{src, decoded}, {src, decoded}, {src, wrong}}, 2) == doctest::Approx(2.0 / 3.0));
}

}  // namespace
}  // namespace attograd
