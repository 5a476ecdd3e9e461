// Attention pictures of a decoded example (issue 7): the exported weights are
// probabilities, masked positions get exactly zero, the files are valid, and
// a trained copy model's cross-attention shows the copy's alignment.
#include <doctest/doctest.h>

#include <cmath>

#ifdef ATTOGRAD_TEST_CAIRO
#include <cairo.h>
#endif

#include "app/attention_export.hpp"
#include "app/loaded_model.hpp"
#include "cli_check.hpp"
#include "viz/attention_json.hpp"

namespace attograd::test {
namespace {

const AttentionMap& map_of(const std::vector<AttentionMap>& maps, AttentionKind kind) {
  for (const AttentionMap& m : maps)
    if (m.kind == kind) return m;
  throw std::runtime_error("no map of kind " + attention_kind_name(kind));
}

void check_rows_are_probabilities(const AttentionMap& m) {
  CAPTURE(attention_kind_name(m.kind));
  for (int h = 0; h < m.heads; ++h)
    for (std::size_t q = 0; q < m.queries.size(); ++q) {
      double sum = 0;
      for (std::size_t k = 0; k < m.keys.size(); ++k) {
        CHECK(m.weight(h, q, k) >= 0.0f);
        sum += m.weight(h, q, k);
      }
      CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    }
}

// The key each query attends most to, averaged over heads.
std::vector<std::size_t> argmax_keys(const AttentionMap& m) {
  std::vector<std::size_t> out;
  for (std::size_t q = 0; q < m.queries.size(); ++q) {
    std::size_t best = 0;
    double best_weight = -1;
    for (std::size_t k = 0; k < m.keys.size(); ++k) {
      double mean = 0;
      for (int h = 0; h < m.heads; ++h) mean += m.weight(h, q, k);
      if (mean > best_weight) best = k, best_weight = mean;
    }
    out.push_back(best);
  }
  return out;
}

TEST_CASE("exported attention rows are probabilities and future tokens get weight 0") {
  LoadedSeq2Seq m = load_seq2seq(trained_copy_model(), "copy", 1);
  const DecodedAttention a = decoded_attention(*m.model, *m.task, m.task->encode_source("1 9 9 4 4 2 7 10 3 5"));
  REQUIRE(a.maps.size() == 3);  // one layer of each kind
  for (const AttentionMap& map : a.maps) check_rows_are_probabilities(map);

  const AttentionMap& decoder = map_of(a.maps, AttentionKind::decoder_self);
  for (int h = 0; h < decoder.heads; ++h)
    for (std::size_t q = 0; q < decoder.queries.size(); ++q)
      for (std::size_t k = q + 1; k < decoder.keys.size(); ++k) CHECK(decoder.weight(h, q, k) == 0.0f);
}

TEST_CASE("attention axes carry the tokens: source for encoder and cross keys, decoder input for decoder rows") {
  LoadedSeq2Seq m = load_seq2seq(trained_copy_model(), "copy", 1);
  const DecodedAttention a = decoded_attention(*m.model, *m.task, m.task->encode_source("1 9 9 4 4 2 7 10 3 5"));
  const std::vector<std::string> source{"1", "9", "9", "4", "4", "2", "7", "10", "3", "5"};
  const std::vector<std::string> decoder_in(source.begin(), source.end() - 1);  // bos ("1") + output but its last
  CHECK(a.decoded == TokenIds{1, 9, 9, 4, 4, 2, 7, 10, 3, 5});
  CHECK(map_of(a.maps, AttentionKind::encoder_self).queries == source);
  CHECK(map_of(a.maps, AttentionKind::encoder_self).keys == source);
  CHECK(map_of(a.maps, AttentionKind::decoder_self).queries == decoder_in);
  CHECK(map_of(a.maps, AttentionKind::decoder_self).keys == decoder_in);
  CHECK(map_of(a.maps, AttentionKind::cross).queries == decoder_in);
  CHECK(map_of(a.maps, AttentionKind::cross).keys == source);
}

TEST_CASE("padding keys get weight 0 in encoder and cross-attention") {
  LoadedSeq2Seq m = load_seq2seq(trained_copy_model(), "copy", 1);
  const TokenIds src{1, 2, 3, 4, 0, 0}, tgt{1, 2, 3, 4};
  const auto maps = label_attention(m.model->attention(src, tgt), *m.task, src, tgt);
  for (AttentionKind kind : {AttentionKind::encoder_self, AttentionKind::cross}) {
    const AttentionMap& map = map_of(maps, kind);
    check_rows_are_probabilities(map);
    for (int h = 0; h < map.heads; ++h)
      for (std::size_t q = 0; q < map.queries.size(); ++q) {
        CHECK(map.weight(h, q, 4) == 0.0f);
        CHECK(map.weight(h, q, 5) == 0.0f);
      }
  }
}

// Decoder input position t holds output token t and predicts token t + 1,
// which the copy takes from source position t + 1: a trained model's
// cross-attention row t peaks at key t + 1 (the diagonal just above the
// main one; read with rows named by the token they predict, each row peaks
// at its own position).
TEST_CASE("after training the copy task, cross-attention row t peaks at source position t + 1") {
  LoadedSeq2Seq m = load_seq2seq(trained_copy_model(), "copy", 1);
  for (const char* input : {"1 2 3 4 5 6 7 8 9 10", "1 9 9 4 4 2 7 10 3 5", "1 6 2 8 10 3 7 5 9 4"}) {
    CAPTURE(input);
    const DecodedAttention a = decoded_attention(*m.model, *m.task, m.task->encode_source(input));
    const std::vector<std::size_t> peaks = argmax_keys(map_of(a.maps, AttentionKind::cross));
    CAPTURE(peaks);
    std::size_t on_diagonal = 0;
    for (std::size_t t = 0; t < peaks.size(); ++t) on_diagonal += peaks[t] == t + 1;
    CHECK(on_diagonal >= peaks.size() * 3 / 4);
  }
}

TEST_CASE("attention writes one SVG per kind with a panel per head plus the mean, and the weights as JSON") {
  const std::string out = scratch("attn.svg");
  const CliResult r = run_attograd({"attention", "copy", "--load", trained_copy_model(), "--input",
                                    "1 2 3 4 5 6 7 8 9 10", "--out", out, "--threads", "1"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("output: 1 2 3 4 5 6 7 8 9 10") != std::string::npos);
  for (const char* kind : {"encoder_self_attention", "decoder_self_attention", "cross_attention"}) {
    CAPTURE(kind);
    const nlohmann::json s = svg_file_summary(scratch(std::string("attn_") + kind + ".svg"));
    std::vector<std::string> heads;
    for (const auto& p : s["panels"]) heads.push_back(p["head"]);
    CHECK(heads == std::vector<std::string>{"mean", "0", "1"});
  }
  const std::vector<AttentionMap> maps = read_attention_json(scratch("attn.json"));
  REQUIRE(maps.size() == 3);
  for (const AttentionMap& map : maps) check_rows_are_probabilities(map);
  CHECK(map_of(maps, AttentionKind::cross).weights.size() == 2u * 9 * 10);
}

TEST_CASE("attention lm draws each layer's causal self-attention over the input's characters") {
  const std::string ckpt = scratch("attn_lm.safetensors"), out = scratch("lm_attn.svg");
  train_tiny("lm", {"--steps", "2", "--batch", "2", "--save", ckpt});  // one layer, two heads
  const CliResult r = run_attograd({"attention", "lm", "--load", ckpt, "--input", "The GNU\nGPL", "--out", out,
                                    "--threads", "1"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json s = svg_file_summary(scratch("lm_attn_decoder_self_attention.svg"));
  CHECK(s["panels"].size() == 3u);  // the mean and the two heads
  const std::vector<AttentionMap> maps = read_attention_json(scratch("lm_attn.json"));
  REQUIRE(maps.size() == 1);  // one per layer
  for (const AttentionMap& map : maps) {
    CAPTURE(map.layer);
    CHECK(map.kind == AttentionKind::decoder_self);
    CHECK(map.queries == std::vector<std::string>{"T", "h", "e", "\u2423", "G", "N", "U", "\u23CE", "G", "P", "L"});
    CHECK(map.keys == map.queries);
    check_rows_are_probabilities(map);
    double ahead = 0;  // causal: no weight on a later character
    for (int h = 0; h < map.heads; ++h)
      for (std::size_t q = 0; q < map.queries.size(); ++q)
        for (std::size_t k = q + 1; k < map.keys.size(); ++k) ahead += map.weight(h, q, k);
    CHECK(ahead == 0.0);
  }
  CHECK(maps[0].layer == 0);
  const CliResult unknown = run_attograd({"attention", "lm", "--load", ckpt, "--input", "\x01", "--out", out});
  CHECK(unknown.exit_code != 0);
  CHECK(contains(unknown.output, "not in the model's alphabet"));
}

TEST_CASE("attention draws the chosen heads, names a head that does not exist, and labels numbers with words") {
  const std::string out = scratch("one_head.svg"), json = scratch("one_head_weights.json");
  const CliResult r = run_attograd({"attention", "copy", "--load", trained_copy_model(), "--input", "1 2 3 4",
                                    "--out", out, "--heads", "1", "--layers", "0", "--json", json});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json summary = svg_file_summary(scratch("one_head_cross_attention.svg"));
  std::vector<std::string> heads;
  for (const auto& p : summary["panels"]) heads.push_back(p["head"]);
  CHECK(heads == std::vector<std::string>{"mean", "1"});
  CHECK(read_attention_json(json).size() == 3);

  const CliResult missing = run_attograd({"attention", "copy", "--load", trained_copy_model(), "--input", "1 2 3 4",
                                          "--out", out, "--heads", "5"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("5") != std::string::npos);

  const std::string numbers = scratch("numbers_for_attention.safetensors");
  train_tiny("numbers", {"--steps", "1", "--save", numbers});
  const std::string words = scratch("words.svg");
  const CliResult n = run_attograd({"attention", "numbers", "--load", numbers, "--input", "407", "--out", words});
  INFO(n.output);
  REQUIRE(n.exit_code == 0);
  const std::vector<AttentionMap> maps = read_attention_json(scratch("words.json"));
  const AttentionMap& cross = map_of(maps, AttentionKind::cross);
  CHECK(cross.keys == std::vector<std::string>{"4", "0", "7"});
  CHECK(cross.queries.front() == "<s>");
}

#ifdef ATTOGRAD_TEST_CAIRO
TEST_CASE("attention writes PNG pictures that decode") {
  const std::string out = scratch("attn_png.png");
  const CliResult r = run_attograd({"attention", "copy", "--load", trained_copy_model(), "--input", "1 2 3 4 5",
                                    "--out", out, "--threads", "1"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* kind : {"encoder_self_attention", "decoder_self_attention", "cross_attention"}) {
    const std::string path = scratch(std::string("attn_png_") + kind + ".png");
    cairo_surface_t* image = cairo_image_surface_create_from_png(path.c_str());
    CHECK(cairo_surface_status(image) == CAIRO_STATUS_SUCCESS);
    CHECK(cairo_image_surface_get_width(image) > 100);
    cairo_surface_destroy(image);
  }
}
#endif

}  // namespace
}  // namespace attograd::test
