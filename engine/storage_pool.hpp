// StoragePool: the allocator behind every Tensor's storage.
//
// A training step allocates and frees the same sizes in the same order every
// step. Handing each freed buffer straight back to malloc makes glibc return
// large blocks to the kernel (they are mmap'ed), and the next step then pays a
// page fault and a zeroed page for every 4 KiB it touches: measured at about
// 12% of a training step of the "small" benchmark configuration. The pool
// keeps freed buffers by exact size and hands them out again.
//
// Bound: the bytes it holds cached plus the bytes in live tensors never exceed
// the highest live total seen so far, so the process never holds more tensor
// memory than the step's own peak. When a new size would break the bound, the
// pool frees cached buffers of other sizes first.
//
// Reused buffers are not zeroed (neither is malloc's memory): Tensor::empty is
// uninitialised, Tensor::zeros clears.
#pragma once

#include <cstddef>
#include <cstdint>

namespace attograd {

// 64-byte aligned storage of `bytes` (a multiple of 64, > 0), of which the
// caller uses the first `used` (<= bytes). Thread-safe.
//
// Checkers see the pool: under AddressSanitizer a cached buffer is poisoned
// (a tensor read after its storage was released is reported, as for freed
// memory) and so are the bytes of a handed-out buffer past `used` (reads past
// a tensor's last element within the 64-byte rounding); under valgrind's
// memcheck the same bytes are no-access and a reused buffer is undefined
// again, so reading it before writing is reported like reading fresh malloc
// memory.
void* pool_acquire(std::size_t bytes, std::size_t used);
void pool_release(void* p, std::size_t bytes);

// Bytes held in the cache (not in live tensors), and a way to drop them all.
std::int64_t pool_cached_bytes();
void pool_trim();

}  // namespace attograd
