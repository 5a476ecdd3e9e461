#include "engine/storage_pool.hpp"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "engine/error.hpp"

// A cached buffer is a live malloc block to AddressSanitizer and to valgrind's
// memcheck: without telling them, a tensor read after its storage went back
// to the pool, or a reused buffer read before it is written, would go unseen.
// So a cached buffer is poisoned (no access), and one handed out is
// addressable up to `used` and, for memcheck, undefined. Both are no-ops in
// a build without ASan that is not run under valgrind.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ATTOGRAD_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define ATTOGRAD_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ATTOGRAD_POISON(p, n) ((void)(p), (void)(n))
#define ATTOGRAD_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define ATTOGRAD_NOACCESS(p, n) VALGRIND_MAKE_MEM_NOACCESS(p, n)
#define ATTOGRAD_UNDEFINED(p, n) VALGRIND_MAKE_MEM_UNDEFINED(p, n)
#else
#define ATTOGRAD_NOACCESS(p, n) ((void)(p), (void)(n))
#define ATTOGRAD_UNDEFINED(p, n) ((void)(p), (void)(n))
#endif

namespace attograd {
namespace {

constexpr std::size_t kAlignment = 64;

// [0, used) of a buffer of `bytes` becomes usable (its contents undefined),
// [used, bytes) stays off limits.
void hand_out(void* p, std::size_t used, std::size_t bytes) {
  ATTOGRAD_UNPOISON(p, used);
  ATTOGRAD_UNDEFINED(p, used);
  ATTOGRAD_POISON(static_cast<char*>(p) + used, bytes - used);
  ATTOGRAD_NOACCESS(static_cast<char*>(p) + used, bytes - used);
}

class Pool {
 public:
  void* acquire(std::size_t bytes, std::size_t used) {
    void* p = nullptr;
    {
      std::lock_guard lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        cached_ -= bytes;
        live_ += bytes;
      } else {
        // A miss: make room so that live + cached + bytes stays within the
        // peak (or empty the cache trying), then allocate outside the lock.
        while (cached_ > 0 && live_ + cached_ + bytes > peak_) evict_one();
        live_ += bytes;
        peak_ = std::max(peak_, live_ + cached_);
      }
    }
    if (p == nullptr) p = std::aligned_alloc(kAlignment, bytes);
    if (p == nullptr) {
      std::lock_guard lock(mutex_);
      live_ -= bytes;
      throw Error(fmt::format("[tensor] out of memory allocating {} bytes", bytes));
    }
    hand_out(p, used, bytes);
    return p;
  }

  void release(void* p, std::size_t bytes) {
    ATTOGRAD_POISON(p, bytes);  // before another thread can take it again
    ATTOGRAD_NOACCESS(p, bytes);
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
    void* p = largest->second.back();
    ATTOGRAD_UNPOISON(p, largest->first);  // free() may read its own block
    std::free(p);
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

void* pool_acquire(std::size_t bytes, std::size_t used) {
  if (used > bytes) throw Error(fmt::format("[tensor] pool_acquire: {} used bytes of a {}-byte buffer", used, bytes));
  return pool().acquire(bytes, used);
}
void pool_release(void* p, std::size_t bytes) { pool().release(p, bytes); }
std::int64_t pool_cached_bytes() { return pool().cached(); }
void pool_trim() { pool().trim(); }

}  // namespace attograd
