#include "engine/tensor.hpp"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/storage_pool.hpp"

namespace attograd {
namespace {

constexpr std::size_t kAlignment = 64;
std::atomic<std::int64_t> g_live{0};
std::atomic<std::int64_t> g_peak{0};

void count_alloc(std::int64_t bytes) {
  const std::int64_t now = g_live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

std::shared_ptr<std::byte> allocate(std::size_t bytes) {
  // aligned_alloc wants a multiple of the alignment; never ask for 0 bytes.
  const std::size_t rounded = std::max<std::size_t>(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
  void* p = pool_acquire(rounded, bytes);
  count_alloc(static_cast<std::int64_t>(rounded));
  return {static_cast<std::byte*>(p), [rounded](std::byte* q) {
            g_live.fetch_sub(static_cast<std::int64_t>(rounded), std::memory_order_relaxed);
            pool_release(q, rounded);
          }};
}

template <class F> void visit_any(DType t, F&& f) {
  switch (t) {
    case DType::f32: f(float{}); return;
    case DType::f64: f(double{}); return;
    case DType::i32: f(std::int32_t{}); return;
  }
}

}  // namespace

void throw_not_floating(DType t) {
  throw Error(fmt::format("[dtype] expected a floating dtype (f32 or f64), got {}", dtype_name(t)));
}

std::int64_t tensor_bytes_live() { return g_live.load(std::memory_order_relaxed); }
std::int64_t tensor_bytes_peak() { return g_peak.load(std::memory_order_relaxed); }
void reset_tensor_bytes_peak() { g_peak.store(g_live.load(std::memory_order_relaxed), std::memory_order_relaxed); }

Tensor::Tensor(DType dtype, Shape shape, std::shared_ptr<std::byte> storage)
    : dtype_(dtype), shape_(std::move(shape)), numel_(attograd::numel(shape_)), storage_(std::move(storage)) {}

Tensor Tensor::alias(const Tensor& base, std::int64_t offset, Shape shape) {
  for (auto d : shape)
    if (d < 0) throw ShapeError(fmt::format("[tensor] negative dimension in shape {}", to_string(shape)));
  const std::int64_t n = attograd::numel(shape);
  if (!base.defined() || offset < 0 || offset > base.numel() - n)
    throw ShapeError(fmt::format("[tensor] alias of elements [{}, {}) of a tensor of {} elements", offset,
                                 offset + n, base.numel()));
  std::byte* first = base.storage_.get() + static_cast<std::size_t>(offset) * dtype_size(base.dtype_);
  return Tensor(base.dtype_, std::move(shape), std::shared_ptr<std::byte>(base.storage_, first));
}

Tensor Tensor::empty(DType dtype, Shape shape) {
  for (auto d : shape)
    if (d < 0) throw ShapeError(fmt::format("[tensor] negative dimension in shape {}", to_string(shape)));
  const std::size_t bytes = static_cast<std::size_t>(attograd::numel(shape)) * dtype_size(dtype);
  return Tensor(dtype, std::move(shape), allocate(bytes));
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t = empty(dtype, std::move(shape));
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::full(DType dtype, Shape shape, double value) {
  Tensor t = empty(dtype, std::move(shape));
  t.fill(value);
  return t;
}

void Tensor::throw_value_count(const Shape& shape, std::size_t count) {
  throw ShapeError(fmt::format("[tensor] shape {} needs {} values, got {}", to_string(shape),
                               attograd::numel(shape), count));
}

std::int64_t Tensor::dim(int axis) const {
  return shape_[static_cast<std::size_t>(normalize_axis(axis, rank(), "tensor"))];
}

void Tensor::check_dtype(DType wanted) const {
  if (storage_ == nullptr) throw Error("[tensor] access to an undefined tensor");
  if (wanted != dtype_)
    throw Error(fmt::format("[tensor] accessed as {} but holds {}", dtype_name(wanted), dtype_name(dtype_)));
}

Tensor Tensor::reshaped(Shape shape) const {
  if (attograd::numel(shape) != numel_)
    throw ShapeError(fmt::format("[reshape] cannot view {} as {}", to_string(shape_), to_string(shape)));
  return Tensor(dtype_, std::move(shape), storage_);
}

Tensor Tensor::clone() const {
  Tensor t = empty(dtype_, shape_);
  if (nbytes() > 0) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return clone();
  Tensor t = empty(dtype, shape_);
  visit_any(dtype_, [&]<class From>(From) {
    visit_any(dtype, [&]<class To>(To) {
      const From* src = data<From>();
      To* dst = t.data<To>();
      for (std::int64_t i = 0; i < numel_; ++i) dst[i] = static_cast<To>(src[i]);
    });
  });
  return t;
}

void Tensor::fill(double value) {
  visit_any(dtype_, [&]<class T>(T) { std::fill_n(data<T>(), numel_, static_cast<T>(value)); });
}

void Tensor::copy_from(const Tensor& other) {
  if (other.dtype_ != dtype_ || other.numel_ != numel_)
    throw Error(fmt::format("[tensor] copy_from: {} {} into {} {}", dtype_name(other.dtype_), to_string(other.shape_),
                            dtype_name(dtype_), to_string(shape_)));
  if (nbytes() > 0) std::memcpy(raw(), other.raw(), nbytes());
}

double Tensor::item() const {
  if (numel_ != 1) throw Error(fmt::format("[tensor] item() needs one element, shape is {}", to_string(shape_)));
  double v = 0;
  visit_any(dtype_, [&]<class T>(T) { v = static_cast<double>(data<T>()[0]); });
  return v;
}

double Tensor::at(std::initializer_list<std::int64_t> index) const {
  if (index.size() != rank())
    throw Error(fmt::format("[tensor] index of rank {} into shape {}", index.size(), to_string(shape_)));
  std::int64_t offset = 0;
  std::size_t axis = 0;
  for (auto i : index) {
    if (i < 0 || i >= shape_[axis])
      throw Error(fmt::format("[tensor] index {} out of range on axis {} of {}", i, axis, to_string(shape_)));
    offset = offset * shape_[axis] + i;
    ++axis;
  }
  double v = 0;
  visit_any(dtype_, [&]<class T>(T) { v = static_cast<double>(data<T>()[offset]); });
  return v;
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> out(static_cast<std::size_t>(numel_));
  visit_any(dtype_, [&]<class T>(T) { std::copy_n(data<T>(), numel_, out.begin()); });
  return out;
}

bool Tensor::bit_equal(const Tensor& other) const {
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  if (defined() != other.defined()) return false;
  return !defined() || std::memcmp(raw(), other.raw(), nbytes()) == 0;
}

bool Tensor::has_non_finite() const {
  bool bad = false;
  if (!is_floating(dtype_)) return false;
  visit_floating(dtype_, [&]<class T>(T) {
    const T* p = data<T>();
    for (std::int64_t i = 0; i < numel_ && !bad; ++i) bad = !std::isfinite(p[i]);
  });
  return bad;
}

}  // namespace attograd
