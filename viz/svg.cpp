// The writer keeps a stack of open tags so finish() always yields a closed,
// well-formed document; escaping is done in one place (xml_escape) for both
// attribute values and text, so no caller can forget it.
#include "viz/svg.hpp"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the valid UTF-8 sequence starting at text[i], or 0 if invalid.
// Follows RFC 3629 (no overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  size_t n = c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  unsigned char second = byte(i + 1);
  unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
  unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
  if (second < lo || second > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (!is_continuation(byte(i + k))) return 0;
  // U+FFFE and U+FFFF are not XML characters.
  if (c == 0xEF && second == 0xBF && byte(i + 2) >= 0xBE) return 0;
  return n;
}

void append_ascii(std::string& out, char c) {
  switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    case '\t': case '\n': out += c; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) out += replacement;
      else out += c;
  }
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      append_ascii(out, text[i++]);
      continue;
    }
    size_t n = utf8_length(text, i);
    if (n == 0) {
      out += replacement;
      ++i;
    } else {
      out += text.substr(i, n);
      i += n;
    }
  }
  return out;
}

std::string format_number(double value, int decimals) {
  if (!std::isfinite(value)) throw Error(fmt::format("[svg] cannot write the number {}", value));
  std::string s = fmt::format("{:.{}f}", value, decimals);
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string format_points(const std::vector<SvgPoint>& points) {
  std::string out;
  for (const SvgPoint& p : points) {
    if (!out.empty()) out += ' ';
    out += format_number(p.x);
    out += ',';
    out += format_number(p.y);
  }
  return out;
}

namespace {

size_t count_chars(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += !is_continuation(static_cast<unsigned char>(c));
  return n;
}

}  // namespace

double text_width(std::string_view text, double font_size) {
  return 0.6 * font_size * static_cast<double>(count_chars(text));
}

std::string shorten(std::string_view text, size_t max_chars) {
  if (count_chars(text) <= max_chars || max_chars == 0) return std::string(text);
  size_t kept = 0, i = 0;
  for (; i < text.size(); ++i) {
    if (!is_continuation(static_cast<unsigned char>(text[i])) && kept++ == max_chars - 1) break;
  }
  return std::string(text.substr(0, i)) + "\xE2\x80\xA6";  // U+2026 …
}

SvgWriter::SvgWriter(double width, double height, std::string_view font_family)
    : width_(width), height_(height) {
  out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  std::string w = format_number(width), h = format_number(height);
  open("svg", {{"xmlns", "http://www.w3.org/2000/svg"}, {"width", w}, {"height", h},
               {"viewBox", fmt::format("0 0 {} {}", w, h)}, {"font-family", font_family}});
}

void SvgWriter::start_tag(std::string_view tag, const Attr* begin, const Attr* end,
                          bool self_closing) {
  out_ += '<';
  out_ += tag;
  for (const Attr* a = begin; a != end; ++a) {
    out_ += ' ';
    out_ += a->name;
    out_ += "=\"";
    out_ += xml_escape(a->value);
    out_ += '"';
  }
  out_ += self_closing ? "/>\n" : ">\n";
}

void SvgWriter::open(std::string_view tag, Attrs attrs) {
  start_tag(tag, attrs.begin(), attrs.end(), false);
  open_.emplace_back(tag);
}

void SvgWriter::open(std::string_view tag, const std::vector<Attr>& attrs) {
  start_tag(tag, attrs.data(), attrs.data() + attrs.size(), false);
  open_.emplace_back(tag);
}

void SvgWriter::close() {
  if (open_.size() <= 1) throw Error("[svg] close() without a matching open()");
  out_ += "</" + open_.back() + ">\n";
  open_.pop_back();
}

void SvgWriter::empty(std::string_view tag, Attrs attrs) {
  start_tag(tag, attrs.begin(), attrs.end(), true);
}

void SvgWriter::empty(std::string_view tag, const std::vector<Attr>& attrs) {
  start_tag(tag, attrs.data(), attrs.data() + attrs.size(), true);
}

void SvgWriter::text(std::string_view content, Attrs attrs) {
  start_tag("text", attrs.begin(), attrs.end(), false);
  out_.pop_back();  // keep the text on the tag's line: no stray whitespace
  out_ += xml_escape(content);
  out_ += "</text>\n";
}

Svg SvgWriter::finish() {
  while (!open_.empty()) {
    out_ += "</" + open_.back() + ">\n";
    open_.pop_back();
  }
  return Svg{std::move(out_), width_, height_};
}

}  // namespace attograd
