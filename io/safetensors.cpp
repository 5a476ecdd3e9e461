// Reading and writing safetensors files. Validation follows the reference
// implementation (huggingface/safetensors, Metadata::validate): every entry
// must be well typed, its byte length must equal numel * dtype size, and the
// entries sorted by offset must tile the data section exactly.
//
// nlohmann::json alone is not enough for untrusted input: it keeps the last
// of duplicate keys silently, and a negative number read as unsigned becomes
// 2^64 - 1. Duplicates are caught by a SAX handler that builds the DOM
// (io/safetensors_header.cpp); numbers are accepted only if the parser
// itself classified them as unsigned integers.
#include "io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "engine/error.hpp"
#include "io/safetensors_header.hpp"

namespace attograd {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i32: return "I32";
  }
  return "?";
}

std::string encode_header(const NamedTensors& tensors, const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name.empty() || name == "__metadata__")
      throw Error(fmt::format("[safetensors] invalid tensor name '{}'", name));
    if (header.contains(name)) throw Error(fmt::format("[safetensors] duplicate tensor name '{}'", name));
    if (!t.defined()) throw Error(fmt::format("[safetensors] tensor '{}' is undefined", name));
    header[name] = {{"dtype", safetensors_dtype(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  return text;
}

// I64 -> i32, refusing values that do not fit.
Tensor narrow_i64(const std::string& path, const HeaderEntry& e, const std::vector<std::int64_t>& values) {
  Tensor t = Tensor::empty(DType::i32, e.shape);
  std::int32_t* out = t.data<std::int32_t>();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] < std::numeric_limits<std::int32_t>::min() || values[i] > std::numeric_limits<std::int32_t>::max())
      throw FileError(fmt::format("[safetensors] {}: tensor '{}' (I64) holds {}, outside the i32 range", path,
                                  e.name, values[i]));
    out[i] = static_cast<std::int32_t>(values[i]);
  }
  return t;
}

DType loaded_dtype(const HeaderEntry& e) {
  return e.dtype == "F32" ? DType::f32 : e.dtype == "F64" ? DType::f64 : DType::i32;  // I32, and I64 narrowed
}

Tensor read_tensor(const InputFile& file, std::uint64_t data_start, const HeaderEntry& e) {
  const std::uint64_t size = e.end - e.begin;
  if (e.dtype == "I64") {
    std::vector<std::int64_t> values(size / 8);
    file.read_at(data_start + e.begin, values.data(), size);
    return narrow_i64(file.path(), e, values);
  }
  Tensor t = Tensor::empty(loaded_dtype(e), e.shape);
  file.read_at(data_start + e.begin, t.raw(), size);
  return t;
}

}  // namespace

const Tensor* SafetensorsFile::find(std::string_view name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  const std::string header = encode_header(tensors, metadata);
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(header.size() >> (8 * i));
  AtomicFileWriter out(path);
  out.write(length, sizeof length);
  out.write(header.data(), header.size());
  for (const auto& [name, t] : tensors) out.write(t.raw(), t.nbytes());
  out.commit();
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
  const InputFile file(path);
  ParsedHeader header = read_header(file);
  SafetensorsHeader result;
  result.metadata = std::move(header.metadata);
  for (HeaderEntry& e : header.entries)
    result.tensors.push_back({std::move(e.name), loaded_dtype(e), std::move(e.shape)});
  return result;
}

SafetensorsFile load_safetensors(const std::string& path) {
  const InputFile file(path);
  const ParsedHeader header = read_header(file);
  SafetensorsFile result;
  result.metadata = header.metadata;
  for (const HeaderEntry& e : header.entries) result.tensors.emplace_back(e.name, read_tensor(file, header.data_start, e));
  return result;
}

}  // namespace attograd
