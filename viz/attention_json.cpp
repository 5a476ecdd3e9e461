// Reading checks every field and says where a problem is (maps[i].field[j]),
// because these files are meant to be edited and produced by other tools.
#include "viz/attention_json.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/error.hpp"

namespace attograd {
namespace {

using nlohmann::json;

// A problem found while reading; the message starts with where it is.
struct Invalid : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The shortest decimal that reads back to `f`, held as the double it parses to.
double shortest(float f) { return std::strtod(fmt::format("{}", f).c_str(), nullptr); }

json map_to_json(const AttentionMap& m) {
  json heads = json::array();
  size_t q_count = m.queries.size(), k_count = m.keys.size();
  for (int h = 0; h < m.heads; ++h) {
    json rows = json::array();
    for (size_t q = 0; q < q_count; ++q) {
      json row = json::array();
      for (size_t k = 0; k < k_count; ++k) row.push_back(shortest(m.weight(h, q, k)));
      rows.push_back(std::move(row));
    }
    heads.push_back(std::move(rows));
  }
  return json{{"kind", attention_kind_name(m.kind)}, {"layer", m.layer}, {"heads", m.heads},
              {"queries", m.queries}, {"keys", m.keys}, {"weights", std::move(heads)}};
}

const json& field(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) throw Invalid(fmt::format("{}: missing \"{}\"", where, key));
  return *it;
}

const json& array_of(const json& value, size_t size, const std::string& where, const char* what) {
  if (!value.is_array()) throw Invalid(fmt::format("{}: expected an array of {}", where, what));
  if (size != 0 && value.size() != size)
    throw Invalid(fmt::format("{}: expected {} {}, got {}", where, size, what, value.size()));
  return value;
}

std::vector<std::string> tokens(const json& value, const std::string& where) {
  std::vector<std::string> out;
  for (const json& t : array_of(value, 0, where, "strings")) {
    if (!t.is_string()) throw Invalid(fmt::format("{}[{}]: expected a string, got {}", where, out.size(), t.dump()));
    out.push_back(t.get<std::string>());
  }
  return out;
}

void read_weights(const json& value, AttentionMap& m, const std::string& where) {
  size_t heads = array_of(value, 0, where, "heads").size();
  if (m.heads != 0 && heads != static_cast<size_t>(m.heads))
    throw Invalid(fmt::format("{}: expected {} heads, got {}", where, m.heads, heads));
  m.heads = static_cast<int>(heads);
  for (size_t h = 0; h < heads; ++h) {
    std::string wh = fmt::format("{}[{}]", where, h);
    const json& rows = array_of(value[h], m.queries.size(), wh, "rows (one per query)");
    for (size_t q = 0; q < rows.size(); ++q) {
      std::string wq = fmt::format("{}[{}]", wh, q);
      for (const json& w : array_of(rows[q], m.keys.size(), wq, "numbers (one per key)")) {
        if (!w.is_number()) throw Invalid(fmt::format("{}: expected numbers, got {}", wq, w.dump()));
        m.weights.push_back(w.get<float>());
      }
    }
  }
}

AttentionMap map_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw Invalid(fmt::format("{}: expected an object", where));
  AttentionMap m;
  const json& kind = field(j, "kind", where);
  if (!kind.is_string()) throw Invalid(fmt::format("{}.kind: expected a string", where));
  m.kind = parse_attention_kind(kind.get<std::string>());
  const json& layer = field(j, "layer", where);
  if (!layer.is_number_integer()) throw Invalid(fmt::format("{}.layer: expected an integer", where));
  m.layer = layer.get<int>();
  if (j.contains("heads")) {
    if (!j["heads"].is_number_integer()) throw Invalid(fmt::format("{}.heads: expected an integer", where));
    m.heads = j["heads"].get<int>();
  }
  m.queries = tokens(field(j, "queries", where), where + ".queries");
  m.keys = tokens(field(j, "keys", where), where + ".keys");
  read_weights(field(j, "weights", where), m, where + ".weights");
  check_attention_map(m);
  return m;
}

}  // namespace

std::string attention_to_json(const std::vector<AttentionMap>& maps) {
  std::string out = R"({"format": "attograd-attention", "version": 1, "maps": [)";
  for (size_t i = 0; i < maps.size(); ++i) {
    check_attention_map(maps[i]);
    out += i == 0 ? "\n" : ",\n";
    out += map_to_json(maps[i]).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  out += "\n]}\n";
  return out;
}

std::vector<AttentionMap> attention_from_json(std::string_view text, const std::string& source) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  try {
    if (doc.is_discarded()) throw Invalid("not valid JSON");
    if (!doc.is_object() || doc.value("format", "") != "attograd-attention")
      throw Invalid("not an attention file (expected \"format\": \"attograd-attention\")");
    std::vector<AttentionMap> maps;
    const json& list = array_of(field(doc, "maps", "top level"), 0, "maps", "maps");
    for (size_t i = 0; i < list.size(); ++i) maps.push_back(map_from_json(list[i], fmt::format("maps[{}]", i)));
    return maps;
  } catch (const Invalid& e) {
    throw FileError(fmt::format("[attention] {}: {}", source, e.what()));
  } catch (const Error& e) {  // unknown kind, inconsistent shapes
    throw FileError(fmt::format("{} (in {})", e.what(), source));
  }
}

void write_attention_json(const std::vector<AttentionMap>& maps, const std::filesystem::path& path) {
  std::string text = attention_to_json(maps);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << text;
  if (out) out.close();
  if (!out) throw FileError(fmt::format("[attention] cannot write {}", path.string()));
}

std::vector<AttentionMap> read_attention_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path))
    throw FileError(fmt::format("[attention] cannot open {}: no such readable file", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return attention_from_json(text.str(), path.string());
}

}  // namespace attograd
