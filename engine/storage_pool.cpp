#include "engine/storage_pool.hpp"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

constexpr std::size_t kAlignment = 64;

class Pool {
 public:
  void* acquire(std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= bytes;
        live_ += bytes;
        return p;
      }
      // A miss: make room so that live + cached + bytes stays within the
      // peak (or empty the cache trying), then allocate outside the lock.
      while (cached_ > 0 && live_ + cached_ + bytes > peak_) evict_one();
      live_ += bytes;
      peak_ = std::max(peak_, live_ + cached_);
    }
    void* p = std::aligned_alloc(kAlignment, bytes);
    if (p == nullptr) {
      std::lock_guard lock(mutex_);
      live_ -= bytes;
      throw Error(fmt::format("[tensor] out of memory allocating {} bytes", bytes));
    }
    return p;
  }

  void release(void* p, std::size_t bytes) {
    std::lock_guard lock(mutex_);
    free_[bytes].push_back(p);
    live_ -= bytes;
    cached_ += bytes;
  }

  std::int64_t cached() {
    std::lock_guard lock(mutex_);
    return static_cast<std::int64_t>(cached_);
  }

  void trim() {
    std::lock_guard lock(mutex_);
    while (cached_ > 0) evict_one();
    peak_ = live_;
  }

 private:
  // Frees one cached buffer, the largest size first (the fewest calls to
  // make the most room). Called with the mutex held.
  void evict_one() {
    auto largest = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (!it->second.empty() && (largest == free_.end() || it->first > largest->first)) largest = it;
    std::free(largest->second.back());
    largest->second.pop_back();
    cached_ -= largest->first;
    if (largest->second.empty()) free_.erase(largest);
  }

  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;  // exact size -> cached buffers
  std::size_t live_ = 0, cached_ = 0, peak_ = 0;
};

// Never destroyed: tensors held by static objects may be released after
// main() returns. Cached buffers stay reachable from here (not leaks).
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

void* pool_acquire(std::size_t bytes) { return pool().acquire(bytes); }
void pool_release(void* p, std::size_t bytes) { pool().release(p, bytes); }
std::int64_t pool_cached_bytes() { return pool().cached(); }
void pool_trim() { pool().trim(); }

}  // namespace attograd
