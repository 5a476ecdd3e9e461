#include "io/safetensors_header.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>
#include <tuple>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/error.hpp"
#include "io/regular_file.hpp"

namespace attograd {
namespace {

using nlohmann::json;

// The reference implementation's limit; stops a hostile length from making
// us allocate gigabytes before anything has been validated.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr int kMaxDepth = 16;  // a header nests 3 levels; deeper is hostile
// Tensors and __metadata__: a checkpoint holds a few per parameter tensor
// (value, optimizer slots); a model with 100,000 parameter tensors is far
// beyond anything attograd builds, and each entry costs memory to validate.
constexpr std::size_t kMaxEntries = 100'000;

struct DTypeInfo {
  const char* name;
  std::uint64_t size;
  bool readable;  // load_safetensors can turn it into a Tensor
};
constexpr DTypeInfo kDTypes[] = {
    {"F64", 8, true},  {"F32", 4, true},   {"I64", 8, true},  {"I32", 4, true},  {"F16", 2, false},
    {"BF16", 2, false}, {"I16", 2, false}, {"I8", 1, false},  {"U64", 8, false}, {"U32", 4, false},
    {"U16", 2, false}, {"U8", 1, false},   {"BOOL", 1, false}, {"F8_E4M3", 1, false}, {"F8_E5M2", 1, false},
};

std::string json_excerpt(const json& v) { return excerpt(v.dump()); }

// Builds the JSON value (a SAX handler for nlohmann::json::sax_parse),
// refusing as it goes a duplicate key in any object (the object's own map
// finds it), nesting deeper than kMaxDepth and more than kMaxEntries
// top-level keys. Linear in the header's size: nlohmann's callback parser,
// used before, went quadratic on objects with many keys (100,000 entries:
// over 5 minutes).
class StrictDomBuilder {
 public:
  explicit StrictDomBuilder(json& root) : root_(root) {}

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(json::number_integer_t v) { return put(v); }
  bool number_unsigned(json::number_unsigned_t v) { return put(v); }
  bool number_float(json::number_float_t v, const std::string&) { return put(v); }
  bool string(std::string& v) { return put(std::move(v)); }
  bool binary(json::binary_t& v) { return put(json::binary_t(std::move(v))); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& k) {
    auto& object = open_.back()->get_ref<json::object_t&>();
    const auto [it, inserted] = object.emplace(k, nullptr);
    if (!inserted) return refuse(fmt::format("duplicate key \"{}\" in the JSON header", excerpt(k)));
    if (open_.size() == 1 && object.size() > kMaxEntries)
      return refuse(fmt::format("the header holds more than {} entries, the limit", kMaxEntries));
    slot_ = &it->second;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    return refuse(fmt::format("invalid JSON header: {}", e.what()));
  }
  const std::string& problem() const { return problem_; }

 private:
  // Stores `v` where the parser is: the root, the next array element or the last key's value.
  json* place(json&& v) {
    if (open_.empty()) return &(root_ = std::move(v));
    json& parent = *open_.back();
    if (!parent.is_array()) return &(*slot_ = std::move(v));
    auto& array = parent.get_ref<json::array_t&>();
    array.push_back(std::move(v));
    return &array.back();
  }
  bool put(json&& v) {
    place(std::move(v));
    return true;
  }
  bool open(json&& container) {
    if (open_.size() >= static_cast<std::size_t>(kMaxDepth))
      return refuse(fmt::format("JSON header nested deeper than {} levels", kMaxDepth));
    open_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }
  bool refuse(std::string problem) {
    if (problem_.empty()) problem_ = std::move(problem);
    return false;
  }
  json& root_;
  std::vector<json*> open_;  // the open objects and arrays, outermost first (their addresses are stable)
  json* slot_ = nullptr;     // the value of the last key
  std::string problem_;
};

// Parses JSON, refusing duplicate keys in any object, deep nesting and too many entries.
json parse_strict(const InputFile& f, const std::string& text) {
  json root;
  StrictDomBuilder sax(root);
  if (!json::sax_parse(text, &sax, json::input_format_t::json, /*strict=*/true))
    f.fail(sax.problem().empty() ? "invalid JSON header" : sax.problem());
  return root;
}

std::uint64_t unsigned_number(const InputFile& f, const std::string& name, const char* field, const json& v) {
  if (!v.is_number_unsigned())
    f.fail(fmt::format("tensor '{}': {} must hold non-negative integers, found {}", name, field, json_excerpt(v)));
  return v.get<std::uint64_t>();
}

const DTypeInfo& dtype_info(const InputFile& f, const std::string& name, const json& v) {
  if (!v.is_string()) f.fail(fmt::format("tensor '{}': dtype must be a string, found {}", name, json_excerpt(v)));
  const std::string s = v.get<std::string>();
  for (const DTypeInfo& d : kDTypes) {
    if (s != d.name) continue;
    if (!d.readable) f.fail(fmt::format("tensor '{}': dtype {} is not supported (attograd reads F32, F64, I32, I64)", name, s));
    return d;
  }
  f.fail(fmt::format("tensor '{}': unknown dtype \"{}\"", name, s));
}

// The shape, and its size in bytes for `element` bytes per value.
std::pair<Shape, std::uint64_t> parse_shape(const InputFile& f, const std::string& name, const json& v,
                                            std::uint64_t element) {
  if (!v.is_array()) f.fail(fmt::format("tensor '{}': shape must be an array, found {}", name, json_excerpt(v)));
  Shape shape;
  std::uint64_t bytes = element;
  bool overflow = false;
  for (const json& d : v) {
    const std::uint64_t n = unsigned_number(f, name, "shape", d);
    overflow = overflow || n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
               __builtin_mul_overflow(bytes, n, &bytes);
    shape.push_back(static_cast<std::int64_t>(n));
  }
  if (overflow) f.fail(fmt::format("tensor '{}': shape {} is too large", name, json_excerpt(v)));
  return {shape, bytes};
}

HeaderEntry parse_entry(const InputFile& f, const std::string& name, const json& v, std::uint64_t data_size) {
  if (!v.is_object()) f.fail(fmt::format("tensor '{}': entry must be an object, found {}", name, json_excerpt(v)));
  for (const auto& item : v.items())
    if (item.key() != "dtype" && item.key() != "shape" && item.key() != "data_offsets")
      f.fail(fmt::format("tensor '{}': unexpected field \"{}\"", name, item.key()));
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!v.contains(field)) f.fail(fmt::format("tensor '{}': missing field \"{}\"", name, field));
  const DTypeInfo& dtype = dtype_info(f, name, v["dtype"]);
  auto [shape, bytes] = parse_shape(f, name, v["shape"], dtype.size);
  const json& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    f.fail(fmt::format("tensor '{}': data_offsets must be [begin, end], found {}", name, json_excerpt(offsets)));
  const std::uint64_t begin = unsigned_number(f, name, "data_offsets", offsets[0]);
  const std::uint64_t end = unsigned_number(f, name, "data_offsets", offsets[1]);
  if (begin > end) f.fail(fmt::format("tensor '{}': data_offsets [{}, {}] end before they begin", name, begin, end));
  if (end > data_size)
    f.fail(fmt::format("tensor '{}': data_offsets [{}, {}] run past the data section ({} bytes): truncated file?", name,
                       begin, end, data_size));
  if (end - begin != bytes)
    f.fail(fmt::format("tensor '{}': data_offsets [{}, {}] hold {} bytes but {} {} needs {}", name, begin, end,
                       end - begin, dtype.name, to_string(shape), bytes));
  return {name, dtype.name, std::move(shape), begin, end};
}

Metadata parse_metadata(const InputFile& f, const json& v) {
  if (!v.is_object()) f.fail(fmt::format("__metadata__ must be an object, found {}", json_excerpt(v)));
  Metadata m;
  for (const auto& item : v.items()) {
    if (!item.value().is_string())
      f.fail(fmt::format("__metadata__ \"{}\" must be a string, found {}", excerpt(item.key()), json_excerpt(item.value())));
    m[item.key()] = item.value().get<std::string>();
  }
  return m;
}

// Sorted by offset, the entries must tile [0, data_size) exactly.
void check_layout(const InputFile& f, std::vector<HeaderEntry>& entries, std::uint64_t data_size) {
  std::sort(entries.begin(), entries.end(),
            [](const HeaderEntry& a, const HeaderEntry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  std::uint64_t position = 0;
  const HeaderEntry* previous = nullptr;
  for (const HeaderEntry& e : entries) {
    if (e.begin < position)
      f.fail(fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", previous->name, previous->begin,
                         previous->end, e.name, e.begin, e.end));
    if (e.begin > position)
      f.fail(fmt::format("bytes [{}, {}) of the data section belong to no tensor", position, e.begin));
    position = e.end;
    previous = &e;
  }
  if (position != data_size)
    f.fail(fmt::format("the data section holds {} bytes but its tensors use {}", data_size, position));
}

}  // namespace

InputFile::InputFile(std::string path) : path_(std::move(path)) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it has no effect on regular files).
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) fail(fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(fmt::format("cannot stat: {}", std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) fail(fmt::format("not a regular file ({})", file_kind(st.st_mode)));
  size_ = static_cast<std::uint64_t>(st.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void InputFile::fail(const std::string& problem) const {
  throw FileError(fmt::format("[safetensors] {}: {}", path_, problem));
}

void InputFile::read_at(std::uint64_t offset, void* out, std::uint64_t n) const {
  if (offset > size_ || n > size_ - offset)
    fail(fmt::format("read of {} bytes at offset {} is outside the file ({} bytes)", n, offset, size_));
  char* p = static_cast<char*>(out);
  while (n > 0) {
    const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(fmt::format("read failed: {}", std::strerror(errno)));
    if (got == 0) fail("the file ended early: truncated while reading?");
    p += got;
    offset += static_cast<std::uint64_t>(got);
    n -= static_cast<std::uint64_t>(got);
  }
}

ParsedHeader read_header(const InputFile& f) {
  if (f.size() < 8) f.fail(fmt::format("truncated: {} bytes, too short for the 8-byte header length", f.size()));
  unsigned char length_bytes[8];
  f.read_at(0, length_bytes, 8);
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | length_bytes[i];
  if (length > f.size() - 8)
    f.fail(fmt::format("header length {} is larger than the file ({} bytes): truncated file?", length, f.size()));
  if (length > kMaxHeaderBytes) f.fail(fmt::format("header length {} exceeds the limit of {}", length, kMaxHeaderBytes));
  std::string text(length, '\0');
  f.read_at(8, text.data(), length);
  const json header = parse_strict(f, text);
  if (!header.is_object()) f.fail(fmt::format("the JSON header must be an object, found {}", json_excerpt(header)));
  ParsedHeader result;
  result.data_start = 8 + length;
  const std::uint64_t data_size = f.size() - result.data_start;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") result.metadata = parse_metadata(f, item.value());
    else result.entries.push_back(parse_entry(f, item.key(), item.value(), data_size));
  }
  check_layout(f, result.entries, data_size);
  return result;
}

}  // namespace attograd
