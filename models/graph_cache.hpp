// Graphs are built once per shape signature and reused: a new batch size or
// sequence length builds (and remembers) its graph without the user asking.
//
//   GraphCache<Seq2SeqGraph> cache([&](const ShapeKey& k) { return build(k); });
//   Seq2SeqGraph& net = cache.get({batch, src_len, tgt_len});
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace attograd {

using ShapeKey = std::vector<std::int64_t>;

template <class Built>
class GraphCache {
 public:
  using Builder = std::function<std::unique_ptr<Built>(const ShapeKey&)>;
  explicit GraphCache(Builder builder) : builder_(std::move(builder)) {}

  Built& get(const ShapeKey& key) {
    auto it = built_.find(key);
    if (it == built_.end()) it = built_.emplace(key, builder_(key)).first;
    return *it->second;
  }
  std::size_t size() const { return built_.size(); }
  void clear() { built_.clear(); }

 private:
  Builder builder_;
  std::map<ShapeKey, std::unique_ptr<Built>> built_;
};

}  // namespace attograd
