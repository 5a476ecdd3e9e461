#include <set>

#include <doctest/doctest.h>

#include "engine/error.hpp"
#include "viz/attention_json.hpp"
#include "viz/attention_map.hpp"
#include "viz_check.hpp"

using namespace attograd;

namespace {

// Weights (H, Q, K) whose rows are softmax-like distributions that differ by
// head, query and layer, so a mix-up shows.
AttentionMap make_map(AttentionKind kind, int layer, int heads, std::vector<std::string> queries,
                      std::vector<std::string> keys) {
  AttentionMap m{kind, layer, std::move(queries), std::move(keys), heads, {}};
  size_t nq = m.queries.size(), nk = m.keys.size();
  for (int h = 0; h < heads; ++h)
    for (size_t q = 0; q < nq; ++q) {
      std::vector<float> row(nk);
      float total = 0;
      for (size_t k = 0; k < nk; ++k) total += row[k] = 1.0f / (1.0f + (k + h + layer + 3 * q) % 7);
      for (float w : row) m.weights.push_back(w / total);
    }
  return m;
}

std::vector<AttentionMap> example() {
  std::vector<std::string> src{"<bos>", "Le", "chat", "&", "le", "chien", "<eos>", "<pad>"};
  std::vector<std::string> tgt{"<bos>", "The", "cat", "\"&\"", "the", "dog"};
  std::vector<AttentionMap> maps;
  for (int layer = 0; layer < 2; ++layer) {
    maps.push_back(make_map(AttentionKind::encoder_self, layer, 3, src, src));
    maps.push_back(make_map(AttentionKind::decoder_self, layer, 3, tgt, tgt));
    maps.push_back(make_map(AttentionKind::cross, layer, 3, tgt, src));
  }
  return maps;
}

std::set<std::pair<std::string, std::string>> panels(const nlohmann::json& summary) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& p : summary["panels"]) out.emplace(p["layer"], p["head"]);
  return out;
}

}  // namespace

TEST_CASE("an attention plot has one panel per layer and head plus a mean per layer") {
  nlohmann::json s = test::svg_summary(plot_attention(example(), AttentionKind::cross), "cross.svg");
  CHECK(s["panels"].size() == 8);
  CHECK(panels(s) == std::set<std::pair<std::string, std::string>>{
                         {"0", "mean"}, {"0", "0"}, {"0", "1"}, {"0", "2"},
                         {"1", "mean"}, {"1", "0"}, {"1", "1"}, {"1", "2"}});
  CHECK(s["cells"] == 8 * 6 * 8);  // (T=6) x (S=8) cells in each of the 8 panels
}

TEST_CASE("attention tokens such as <pad> and & are escaped and read back unchanged") {
  Svg svg = plot_attention(example(), AttentionKind::cross);
  CHECK(svg.text.find("&lt;pad&gt;") != std::string::npos);
  CHECK(svg.text.find("<pad>") == std::string::npos);
  nlohmann::json s = test::svg_summary(svg, "tokens.svg");
  auto count = [&](const std::string& t) { return std::count(s["texts"].begin(), s["texts"].end(), t); };
  CHECK(count("<pad>") == 8);      // a key: under each of the 8 panels
  CHECK(count("&") == 8);
  CHECK(count("\"&\"") == 8);      // a query: left of each panel
  CHECK(count("Cross-attention") == 1);
}

TEST_CASE("layers and heads can be picked and the mean left out") {
  AttentionPlotOptions options;
  options.layers = {1};
  options.heads = {0, 2};
  nlohmann::json s = test::svg_summary(plot_attention(example(), AttentionKind::encoder_self, options), "pick.svg");
  CHECK(panels(s) == std::set<std::pair<std::string, std::string>>{{"1", "mean"}, {"1", "0"}, {"1", "2"}});
  options.show_mean = false;
  s = test::svg_summary(plot_attention(example(), AttentionKind::encoder_self, options), "pick2.svg");
  CHECK(panels(s) == std::set<std::pair<std::string, std::string>>{{"1", "0"}, {"1", "2"}});
}

TEST_CASE("asking for a layer, head or kind that is not there names what is") {
  AttentionPlotOptions bad_layer;
  bad_layer.layers = {4};
  CHECK_THROWS_WITH_AS(plot_attention(example(), AttentionKind::cross, bad_layer),
                       doctest::Contains("has no layer 4; layers: 0, 1"), Error);
  AttentionPlotOptions bad_head;
  bad_head.heads = {3};
  CHECK_THROWS_WITH_AS(plot_attention(example(), AttentionKind::cross, bad_head),
                       doctest::Contains("has no head 3; heads: 0..2"), Error);
  std::vector<AttentionMap> only_cross{example()[2]};
  CHECK_THROWS_WITH_AS(plot_attention(only_cross, AttentionKind::encoder_self),
                       doctest::Contains("no encoder self-attention maps"), Error);
}

TEST_CASE("an attention map whose weights do not match its tokens is a ShapeError") {
  AttentionMap m = make_map(AttentionKind::cross, 0, 2, {"a", "b"}, {"x", "y", "z"});
  CHECK_NOTHROW(check_attention_map(m));
  m.weights.pop_back();
  CHECK_THROWS_WITH_AS(check_attention_map(m), doctest::Contains("weights hold 11 values, (H, Q, K) = (2, 2, 3) needs 12"),
                       ShapeError);
  m.weights.push_back(std::numeric_limits<float>::quiet_NaN());
  CHECK_THROWS_AS(check_attention_map(m), ShapeError);
  CHECK_THROWS_AS(plot_attention({m}, AttentionKind::cross), ShapeError);
}

TEST_CASE("attention kinds have names and slugs that parse back") {
  for (AttentionKind k : {AttentionKind::encoder_self, AttentionKind::decoder_self, AttentionKind::cross}) {
    CHECK(parse_attention_kind(attention_kind_name(k)) == k);
    CHECK(parse_attention_kind(attention_kind_slug(k)) == k);
  }
  CHECK(attention_kind_slug(AttentionKind::cross) == "cross_attention");
  CHECK_THROWS_AS(parse_attention_kind("self"), Error);
  CHECK(attention_kinds({example()[2]}) == std::vector<AttentionKind>{AttentionKind::cross});
}

TEST_CASE("attention weights written as JSON read back exactly") {
  std::vector<AttentionMap> maps = example();
  maps[0].weights[5] = 0.1f;
  maps[0].weights[6] = 1e-30f;
  auto path = test::scratch_dir() / "attention.json";
  write_attention_json(maps, path);
  nlohmann::json doc = nlohmann::json::parse(test::read_text(path));
  CHECK(doc["maps"][2]["kind"] == "cross-attention");
  CHECK(doc["maps"][2]["weights"].size() == 3);        // heads
  CHECK(doc["maps"][2]["weights"][0].size() == 6);     // queries
  CHECK(doc["maps"][2]["weights"][0][0].size() == 8);  // keys
  std::vector<AttentionMap> back = read_attention_json(path);
  REQUIRE(back.size() == maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    CHECK(back[i].kind == maps[i].kind);
    CHECK(back[i].layer == maps[i].layer);
    CHECK(back[i].heads == maps[i].heads);
    CHECK(back[i].queries == maps[i].queries);
    CHECK(back[i].keys == maps[i].keys);
    CHECK(back[i].weights == maps[i].weights);
  }
}

TEST_CASE("a broken attention JSON file gives an error saying where") {
  auto read = [](const std::string& text) {
    try {
      attention_from_json(text, "attn.json");
    } catch (const FileError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  std::string head = R"({"format": "attograd-attention", "version": 1, "maps": [)";
  std::string ok = R"({"kind": "cross-attention", "layer": 0, "queries": ["a"], "keys": ["x", "y"], "weights": [[[0.5, 0.5]]]})";
  CHECK(read(head + ok + "]}") == "");
  CHECK(read("{").find("[attention] attn.json: not valid JSON") == 0);
  CHECK(read(R"({"maps": []})").find("not an attention file") != std::string::npos);
  std::string short_row = R"({"kind": "cross-attention", "layer": 0, "queries": ["a"], "keys": ["x", "y"], "weights": [[[0.5]]]})";
  CHECK(read(head + ok + "," + short_row + "]}").find("maps[1].weights[0][0]: expected 2 numbers") != std::string::npos);
  std::string bad_kind = R"({"kind": "sideways", "layer": 0, "queries": ["a"], "keys": ["x"], "weights": [[[1]]]})";
  CHECK(read(head + bad_kind + "]}").find("unknown kind 'sideways'") != std::string::npos);
  std::string no_keys = R"({"kind": "cross-attention", "layer": 0, "queries": ["a"], "weights": [[[1]]]})";
  CHECK(read(head + no_keys + "]}").find("maps[0]: missing \"keys\"") != std::string::npos);
  CHECK_THROWS_AS(read_attention_json(test::scratch_dir() / "missing.json"), FileError);
}
