// Decoding in process: the incremental decoder (keys and values cached)
// against the full-prefix oracle — same tokens, log-probabilities within
// 1e-5, same beams — for both residual placements; and the GNMT length
// penalty of beam search pulling the choice toward longer hypotheses.
#include <doctest/doctest.h>

#include <cmath>

#include "app/seq2seq.hpp"
#include "app/tasks/task.hpp"

namespace attograd {
namespace {

TransformerConfig small(const Seq2SeqTask& task, NormPlacement norm) {
  TransformerConfig c;
  c.src_vocab = task.src_vocab();
  c.tgt_vocab = task.tgt_vocab();
  c.layers = 2, c.d_model = 32, c.heads = 4, c.d_ff = 64, c.dropout = 0.1;  // dropout is off when decoding
  c.norm = norm;
  return c;
}

struct Case {
  const char* task;
  std::vector<const char*> inputs;
};
const std::vector<Case> kCases{{"copy", {"1 2 3 4 5 6 7 8 9 10", "1 5 5 2", "1 10 9"}},
                               {"numbers", {"40213", "7", "999999", "1200"}}};

void check_close(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::abs(static_cast<double>(a[k]) - b[k]));
  CHECK(worst < 1e-5);
}

TEST_CASE("the cached decoder's next-token log-probabilities equal the full prefix's at every step") {
  for (NormPlacement norm : {NormPlacement::post, NormPlacement::pre})
    for (const Case& c : kCases) {
      CAPTURE(c.task);
      CAPTURE(norm == NormPlacement::pre);
      auto task = make_task(c.task);
      Seq2SeqModel model(*task, small(*task, norm), 11, 2, 0.0);
      std::vector<TokenIds> srcs;
      for (const char* in : c.inputs) srcs.push_back(task->encode_source(in));
      auto cached = model.start_decoding(srcs, true), full = model.start_decoding(srcs, false);
      TokenIds tokens(srcs.size(), task->bos());
      for (int step = 0; step < 8; ++step) {
        CAPTURE(step);
        const auto a = cached->advance(tokens), b = full->advance(tokens);
        REQUIRE(a.size() == srcs.size());
        for (std::size_t i = 0; i < a.size(); ++i) check_close(a[i], b[i]);
        for (std::size_t i = 0; i < a.size(); ++i)  // some step's least likely token, to leave the greedy path
          tokens[i] = static_cast<std::int32_t>(3 + (step + i) % (a[i].size() - 3));
      }
      // Reordered and repeated rows (what beam search does) stay equal too.
      cached->select({2, 0, 0});
      full->select({2, 0, 0});
      const auto a = cached->advance({4, 5, 6}), b = full->advance({4, 5, 6});
      REQUIRE(a.size() == 3);
      for (std::size_t i = 0; i < a.size(); ++i) check_close(a[i], b[i]);
    }
}

TEST_CASE("cached greedy decoding gives the full-prefix tokens and log-probability (post- and pre-norm)") {
  for (NormPlacement norm : {NormPlacement::post, NormPlacement::pre})
    for (const Case& c : kCases) {
      auto task = make_task(c.task);
      Seq2SeqModel model(*task, small(*task, norm), 3, 2, 0.0);
      std::vector<TokenIds> srcs;
      for (const char* in : c.inputs) {
        CAPTURE(std::string(in));
        CAPTURE(norm == NormPlacement::pre);
        srcs.push_back(task->encode_source(in));
        DecodeOptions full;
        full.cache = false;
        const Hypothesis a = model.greedy(srcs.back()), b = model.greedy(srcs.back(), full);
        CHECK(a.ids == b.ids);
        CHECK(a.ids.size() > 1);
        CHECK(std::abs(a.log_prob - b.log_prob) < 1e-5);
      }
      CHECK(model.decode_batch(srcs, true) == model.decode_batch(srcs, false));
    }
}

TEST_CASE("cached beam search gives the full-prefix hypotheses and scores (post- and pre-norm)") {
  for (NormPlacement norm : {NormPlacement::post, NormPlacement::pre})
    for (const Case& c : kCases) {
      auto task = make_task(c.task);
      Seq2SeqModel model(*task, small(*task, norm), 5, 2, 0.0);
      for (const char* in : c.inputs) {
        CAPTURE(std::string(in));
        CAPTURE(norm == NormPlacement::pre);
        DecodeOptions o;
        o.beam = 4;
        const std::vector<Hypothesis> a = model.beam_search(task->encode_source(in), o);
        o.cache = false;
        const std::vector<Hypothesis> b = model.beam_search(task->encode_source(in), o);
        REQUIRE(a.size() == 4);
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
          CHECK(a[i].ids == b[i].ids);
          CHECK(std::abs(a[i].log_prob - b[i].log_prob) < 1e-5);
          CHECK(std::abs(a[i].score - b[i].score) < 1e-5);
        }
      }
    }
}

TEST_CASE("the GNMT length penalty divides by ((5 + len) / 6)^alpha and so favours longer hypotheses") {
  auto task = make_task("numbers");
  Seq2SeqModel model(*task, small(*task, NormPlacement::pre), 5, 2, 0.0);
  // An untrained model whose end token is likely enough to end some beams early.
  model.parameters().at("generator.bias").value.data<float>()[task->eos()] = 0.5f;
  const TokenIds src = task->encode_source("40213");
  auto search = [&](double alpha) {
    DecodeOptions o;
    o.beam = 4;
    o.length_penalty = alpha;
    return model.beam_search(src, o);
  };
  const std::vector<Hypothesis> plain = search(0.0), penalised = search(2.0);
  for (const auto* beam : {&plain, &penalised}) {
    const double alpha = beam == &plain ? 0.0 : 2.0;
    for (std::size_t i = 0; i < beam->size(); ++i) {
      const Hypothesis& h = (*beam)[i];
      const double len = static_cast<double>(h.ids.size() - 1);
      CHECK(h.score == doctest::Approx(h.log_prob / std::pow((5.0 + len) / 6.0, alpha)).epsilon(1e-12));
      if (i > 0) CHECK((*beam)[i - 1].score >= h.score);
    }
  }
  const Hypothesis& short_best = plain.front();
  const Hypothesis& long_best = penalised.front();
  CAPTURE(task->decode_target(short_best.ids));
  CAPTURE(task->decode_target(long_best.ids));
  // Without a penalty the most probable sequence wins; it is a short one.
  CHECK(short_best.log_prob > long_best.log_prob);
  CHECK(long_best.ids.size() > short_best.ids.size());
  // With alpha = 2 the longer one scores higher, as the formula says it must.
  auto score = [](const Hypothesis& h, double alpha) {
    return h.log_prob / std::pow((5.0 + static_cast<double>(h.ids.size() - 1)) / 6.0, alpha);
  };
  CHECK(score(long_best, 2.0) > score(short_best, 2.0));
  CHECK(score(long_best, 0.0) < score(short_best, 0.0));
}

}  // namespace
}  // namespace attograd
