// Graphs are built once per shape signature and reused: a new batch size or
// sequence length builds (and remembers) its graph without the user asking.
// With a capacity, the least recently used graph is dropped when a new one
// would exceed it: the incremental decoder builds one graph per output
// position, and keeping all of them made memory grow without bound.
//
//   GraphCache<Seq2SeqGraph> cache([&](const ShapeKey& k) { return build(k); });
//   Seq2SeqGraph& net = cache.get({batch, src_len, tgt_len});  // valid until the next get()
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <vector>

namespace attograd {

using ShapeKey = std::vector<std::int64_t>;

template <class Built>
class GraphCache {
 public:
  using Builder = std::function<std::unique_ptr<Built>(const ShapeKey&)>;
  // capacity 0: keep every graph.
  explicit GraphCache(Builder builder, std::size_t capacity = 0) : builder_(std::move(builder)), capacity_(capacity) {}

  // With a capacity, the reference stays valid only until the next get() of another key.
  Built& get(const ShapeKey& key) {
    auto it = built_.find(key);
    if (it != built_.end()) {
      recent_.splice(recent_.begin(), recent_, it->second.recent);
      return *it->second.built;
    }
    std::unique_ptr<Built> built = builder_(key);  // first: a builder that throws changes nothing
    if (capacity_ > 0 && built_.size() >= capacity_) {
      built_.erase(recent_.back());
      recent_.pop_back();
    }
    recent_.push_front(key);
    it = built_.emplace(key, Entry{std::move(built), recent_.begin()}).first;
    return *it->second.built;
  }
  std::size_t size() const { return built_.size(); }
  std::size_t capacity() const { return capacity_; }
  void clear() {
    built_.clear();
    recent_.clear();
  }

 private:
  struct Entry {
    std::unique_ptr<Built> built;
    std::list<ShapeKey>::iterator recent;
  };
  Builder builder_;
  std::size_t capacity_;
  std::list<ShapeKey> recent_;  // most recently used first
  std::map<ShapeKey, Entry> built_;
};

}  // namespace attograd
