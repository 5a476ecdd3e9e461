// Attention weights as JSON, so they can be plotted with other tools and read
// back. One object, one map per line:
//
//   {"format": "attograd-attention", "version": 1, "maps": [
//   {"kind": "cross-attention", "layer": 0, "heads": 2,
//    "queries": ["Le", "chat"], "keys": ["The", "cat", "<eos>"],
//    "weights": [[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]], [[...], [...]]]}
//   ]}
//
// "weights" is nested [head][query][key]. Each float is written in its
// shortest form that reads back to the same float, so a round trip is exact.
// Token strings that are not valid UTF-8 are written with U+FFFD.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "viz/attention_map.hpp"

namespace attograd {

std::string attention_to_json(const std::vector<AttentionMap>& maps);

// Parses and checks (check_attention_map) every map. Throws FileError
// "[attention] <source>: <where>: <what>", e.g. "maps[1].weights[0][2]: expected 7 numbers".
std::vector<AttentionMap> attention_from_json(std::string_view text, const std::string& source);

// Throws FileError "[attention] cannot write/open <path>" besides the above.
void write_attention_json(const std::vector<AttentionMap>& maps, const std::filesystem::path& path);
std::vector<AttentionMap> read_attention_json(const std::filesystem::path& path);

}  // namespace attograd
