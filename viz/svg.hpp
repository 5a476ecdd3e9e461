// A small SVG writer: elements and attributes in, a well-formed UTF-8 SVG
// document out. Every attribute value and text node is XML-escaped, so token
// strings such as "<pad>", "&" or "\"" can be written as they are; bytes that
// are not valid UTF-8 (a byte-level BPE token may hold half a character) and
// control characters become U+FFFD, so the document always parses.
//
//   SvgWriter svg(200, 100);
//   svg.open("g", {{"class", "panel"}});
//   svg.empty("rect", {{"x", 10}, {"y", 10}, {"width", 50.5}, {"height", 20}});
//   svg.text("<pad>", {{"x", 12}, {"y", 30}});   // writes &lt;pad&gt;
//   Svg doc = svg.finish();                      // closes the <g> and the <svg>
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace attograd {

// A finished drawing: the document text and its size in pixels (user units).
struct Svg {
  std::string text;
  double width = 0;
  double height = 0;
};

// A point in drawing coordinates (x to the right, y down).
struct SvgPoint {
  double x = 0;
  double y = 0;
};

// `text` with & < > " ' replaced by entities, invalid UTF-8 and control
// characters (other than tab and newline) replaced by U+FFFD.
std::string xml_escape(std::string_view text);

// `value` rounded to `decimals` places without trailing zeros: 12.5, 3, -0.25.
// Throws Error for NaN or infinity (a drawing bug, never silently written).
std::string format_number(double value, int decimals = 2);

// "x1,y1 x2,y2 ..." for a polyline's points attribute.
std::string format_points(const std::vector<SvgPoint>& points);

// Rough width in pixels of `text` in DejaVu Sans at `font_size` (0.6 em per
// character), enough to lay out labels and legends without a font engine.
double text_width(std::string_view text, double font_size);

// `text` cut to at most `max_chars` characters (not bytes), "…" marking a cut.
std::string shorten(std::string_view text, size_t max_chars);

class SvgWriter {
 public:
  // One attribute; a number is formatted with format_number, a string escaped.
  struct Attr {
    Attr(std::string_view name, std::string_view value) : name(name), value(value) {}
    Attr(std::string_view name, const char* value) : name(name), value(value) {}
    Attr(std::string_view name, double value) : name(name), value(format_number(value)) {}
    Attr(std::string_view name, int value) : name(name), value(std::to_string(value)) {}
    std::string_view name;
    std::string value;
  };
  using Attrs = std::initializer_list<Attr>;

  // Starts <svg> with width, height and viewBox; `font_family` is inherited.
  SvgWriter(double width, double height,
            std::string_view font_family = "DejaVu Sans, Helvetica, Arial, sans-serif");

  void open(std::string_view tag, Attrs attrs = {});   // <tag ...>
  void close();                                        // </tag> of the last open()
  void empty(std::string_view tag, Attrs attrs);       // <tag .../>
  void text(std::string_view content, Attrs attrs);    // <text ...>content</text>
  // An element whose attributes are only known at run time (e.g. data-*).
  void empty(std::string_view tag, const std::vector<Attr>& attrs);
  void open(std::string_view tag, const std::vector<Attr>& attrs);

  // Closes every open element and the <svg>; the writer is then spent.
  Svg finish();

 private:
  void start_tag(std::string_view tag, const Attr* begin, const Attr* end, bool self_closing);

  std::string out_;
  std::vector<std::string> open_;
  double width_;
  double height_;
};

}  // namespace attograd
