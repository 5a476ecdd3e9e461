// Shapes and numpy-style broadcasting.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace attograd {

using Shape = std::vector<std::int64_t>;

// Number of elements (1 for a scalar of rank 0).
std::int64_t numel(const Shape& s);

// "(2, 3, 4)" — the form every error message uses.
std::string to_string(const Shape& s);

// Row-major strides in elements: strides({2,3,4}) = {12, 4, 1}.
Shape contiguous_strides(const Shape& s);

// numpy broadcasting: align trailing dimensions; each pair must be equal or
// one of them 1. Returns false (and leaves `out` unspecified) if incompatible.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out);

// Strides to read an input of shape `in` while iterating over `out` (which
// `in` broadcasts to): broadcast dimensions get stride 0. out.size() entries.
Shape broadcast_strides(const Shape& in, const Shape& out);

// Maps axis in [-rank, rank) to [0, rank); throws ShapeError naming `op` otherwise.
int normalize_axis(std::int64_t axis, std::size_t rank, const char* op);

}  // namespace attograd
