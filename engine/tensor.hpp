// Tensor: a dense, contiguous, row-major array with a dtype and a shape.
//
// Storage is 64-byte aligned (an alias() starts where it starts) and shared between copies of a Tensor (copying a
// Tensor is cheap and aliases; use clone() for a deep copy). A Tensor is always
// materialised: kernels read and write it through data<T>() or, where
// convenient, through the xtensor views in engine/xview.hpp (kept out of this
// header so that including it costs nothing).
//
//   Tensor x = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
//   x.data<float>()[4] == 5;  x.at({1, 1}) == 5.0
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "engine/dtype.hpp"
#include "engine/shape.hpp"

namespace attograd {

class Tensor {
 public:
  Tensor() = default;  // undefined: holds no storage; defined() is false

  // Uninitialised storage for `shape` elements of `dtype`.
  static Tensor empty(DType dtype, Shape shape);
  static Tensor zeros(DType dtype, Shape shape);
  static Tensor full(DType dtype, Shape shape, double value);
  static Tensor scalar(DType dtype, double value) { return full(dtype, {}, value); }
  template <class T>
  static Tensor from(Shape shape, const std::vector<T>& values);
  // Elements [offset, offset + numel(shape)) of `base` as a tensor of
  // `shape` and base's dtype, without a copy: a write through either shows
  // in both, and the storage lives while either does. Its data is aligned
  // only as that element is (no kernel assumes more of a tensor).
  static Tensor alias(const Tensor& base, std::int64_t offset, Shape shape);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.size(); }
  std::int64_t dim(int axis) const;  // axis may be negative
  std::int64_t numel() const { return numel_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel_) * dtype_size(dtype_); }

  // Typed access; throws if T does not match dtype().
  template <class T> T* data();
  template <class T> const T* data() const;
  template <class T> std::span<T> span() { return {data<T>(), static_cast<std::size_t>(numel_)}; }
  template <class T> std::span<const T> span() const { return {data<T>(), static_cast<std::size_t>(numel_)}; }
  void* raw() { return storage_.get(); }
  const void* raw() const { return storage_.get(); }

  // Same storage, other shape with the same number of elements.
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  Tensor to(DType dtype) const;     // converting copy (same dtype: clone)
  void fill(double value);
  void copy_from(const Tensor& other);  // same dtype and numel

  // Element access for tests and small tools (slow, converts to double).
  double item() const;  // a tensor of exactly one element
  double at(std::initializer_list<std::int64_t> index) const;
  std::vector<double> to_vector() const;

  // True if both tensors have the same dtype, shape and bytes.
  bool bit_equal(const Tensor& other) const;
  // True if any element is NaN or +-Inf (floating dtypes only).
  bool has_non_finite() const;

 private:
  Tensor(DType dtype, Shape shape, std::shared_ptr<std::byte> storage);
  void check_dtype(DType wanted) const;
  [[noreturn]] static void throw_value_count(const Shape& shape, std::size_t count);

  DType dtype_ = DType::f32;
  Shape shape_;
  std::int64_t numel_ = 0;
  std::shared_ptr<std::byte> storage_;
};

// Bytes currently held by all Tensors in the process, and the high-water mark
// since the last reset. The profiler reads these.
std::int64_t tensor_bytes_live();
std::int64_t tensor_bytes_peak();
void reset_tensor_bytes_peak();

// Implementation of the templates ------------------------------------------

template <class T> T* Tensor::data() {
  check_dtype(dtype_of<T>());
  return reinterpret_cast<T*>(storage_.get());
}
template <class T> const T* Tensor::data() const {
  check_dtype(dtype_of<T>());
  return reinterpret_cast<const T*>(storage_.get());
}

template <class T>
Tensor Tensor::from(Shape shape, const std::vector<T>& values) {
  Tensor t = empty(dtype_of<T>(), std::move(shape));
  if (static_cast<std::int64_t>(values.size()) != t.numel()) throw_value_count(t.shape(), values.size());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

}  // namespace attograd
