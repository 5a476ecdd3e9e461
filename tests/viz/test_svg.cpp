#include <cmath>
#include <limits>

#include <doctest/doctest.h>

#include "engine/error.hpp"
#include "viz/scale.hpp"
#include "viz/svg.hpp"
#include "viz_check.hpp"

using namespace attograd;

TEST_CASE("xml_escape replaces the five XML special characters") {
  CHECK(xml_escape("<pad> & \"q\" 'a'") == "&lt;pad&gt; &amp; &quot;q&quot; &apos;a&apos;");
  CHECK(xml_escape("plain") == "plain");
}

TEST_CASE("xml_escape keeps valid UTF-8 and replaces invalid bytes and control characters") {
  CHECK(xml_escape("\xE2\x96\x81the caf\xC3\xA9 \xF0\x9F\x98\x80") == "\xE2\x96\x81the caf\xC3\xA9 \xF0\x9F\x98\x80");
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(xml_escape("a\xC3") == "a" + fffd);             // truncated sequence
  CHECK(xml_escape("\xC0\xAF") == fffd + fffd);         // overlong '/'
  CHECK(xml_escape("\xED\xA0\x80") == fffd + fffd + fffd);  // surrogate
  CHECK(xml_escape(std::string("a\0b\x1b", 4)) == "a" + fffd + "b" + fffd);
  CHECK(xml_escape("tab\tnewline\n") == "tab\tnewline\n");
}

TEST_CASE("format_number writes compact numbers and refuses NaN") {
  CHECK(format_number(12.5) == "12.5");
  CHECK(format_number(3.0) == "3");
  CHECK(format_number(-0.001) == "0");
  CHECK(format_number(0.125, 3) == "0.125");
  CHECK(format_number(1.0 / 3.0) == "0.33");
  CHECK(format_points({{1, 2.5}, {3.25, 4}}) == "1,2.5 3.25,4");
  CHECK_THROWS_AS(format_number(std::numeric_limits<double>::quiet_NaN()), Error);
}

TEST_CASE("shorten cuts by characters, not bytes, and marks the cut") {
  CHECK(shorten("abc", 5) == "abc");
  CHECK(shorten("abcdef", 4) == "abc\xE2\x80\xA6");
  CHECK(shorten("\xC3\xA9\xC3\xA9\xC3\xA9", 2) == "\xC3\xA9\xE2\x80\xA6");
  CHECK(text_width("\xC3\xA9t\xC3\xA9", 10) == doctest::Approx(18));
}

TEST_CASE("an SvgWriter document parses as XML and gives the text back exactly") {
  SvgWriter svg(120, 80);
  svg.open("g", {{"class", "panel"}, {"data-name", "a \"quoted\" <name> & more"}});
  svg.empty("rect", {{"x", 1}, {"y", 2.5}, {"width", 10}, {"height", 0}});
  svg.text("<pad>", {{"x", 5}, {"y", 20}});
  svg.text("&", {{"x", 5}, {"y", 30}});
  svg.text("it's \"quoted\"", {{"x", 5}, {"y", 40}});
  Svg doc = svg.finish();  // the <g> is still open: finish closes it
  CHECK(doc.width == 120);
  nlohmann::json summary = test::svg_summary(doc, "writer.svg");
  CHECK(summary["root"] == "{http://www.w3.org/2000/svg}svg");
  CHECK(summary["width"] == "120");
  REQUIRE(summary["panels"].size() == 1);
  CHECK(summary["panels"][0]["name"] == "a \"quoted\" <name> & more");
  CHECK(summary["texts"] == nlohmann::json::array({"<pad>", "&", "it's \"quoted\""}));
}

TEST_CASE("close without open is an error, not a broken document") {
  SvgWriter svg(10, 10);
  CHECK_THROWS_AS(svg.close(), Error);
}

TEST_CASE("a linear scale maps the domain onto the range and a log scale by decades") {
  AxisScale x{0, 10, 100, 200};
  CHECK(x(0) == 100);
  CHECK(x(2.5) == 125);
  AxisScale y{0.1, 10, 300, 100, true};
  CHECK(y(1) == doctest::Approx(200));
  CHECK(y(10) == doctest::Approx(100));
  CHECK(AxisScale{5, 5, 0, 10}(5) == 5);
}

TEST_CASE("nice_ticks are 1-2-5 multiples inside the range") {
  CHECK(nice_ticks(0, 7.3) == std::vector<double>{0, 2, 4, 6});
  CHECK(nice_ticks(0, 1, 4) == std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0});
  CHECK(nice_ticks(-3, 3, 3) == std::vector<double>{-2, 0, 2});
  std::vector<double> big = nice_ticks(1000, 20000, 5);
  CHECK(big.front() == 5000);
  CHECK(big.back() == 20000);
}

TEST_CASE("log ticks are powers of ten, with 2 and 5 over short ranges") {
  CHECK(log_ticks(1e-5, 1e-2) == std::vector<double>{1e-5, 1e-4, 1e-3, 1e-2});
  std::vector<double> t = log_ticks(2, 20);
  REQUIRE(t.size() == 4);
  CHECK(t[0] == doctest::Approx(2));
  CHECK(t[1] == doctest::Approx(5));
  CHECK(t[3] == doctest::Approx(20));
}

TEST_CASE("nice_domain widens to tick values and never leaves an empty range") {
  CHECK(nice_domain(0.3, 9.2, false) == std::pair{0.0, 10.0});
  auto [lo, hi] = nice_domain(2.1, 10.5, true);
  CHECK(lo == doctest::Approx(2));
  CHECK(hi == doctest::Approx(20));
  auto [a, b] = nice_domain(4, 4, false);
  CHECK(a < 4);
  CHECK(b > 4);
}

TEST_CASE("format_tick writes short labels") {
  CHECK(format_tick(0) == "0");
  CHECK(format_tick(0.25) == "0.25");
  CHECK(format_tick(120) == "120");
  CHECK(format_tick(12000) == "12k");
  CHECK(format_tick(1.5e6) == "1.5M");
  CHECK(format_tick(3e-4) == "3e-4");
  CHECK(format_tick(0.30000000000000004) == "0.3");
}

TEST_CASE("the tick labels of one axis share one style") {
  CHECK(format_ticks({0, 5e-4, 1e-3, 1.5e-3}) == std::vector<std::string>{"0", "5e-4", "1e-3", "1.5e-3"});
  CHECK(format_ticks({0, 0.005, 0.01}) == std::vector<std::string>{"0", "0.005", "0.01"});
  CHECK(format_ticks({0, 5000, 10000}) == std::vector<std::string>{"0", "5k", "10k"});
}

TEST_CASE("viridis runs from dark purple to yellow and clamps outside [0, 1]") {
  CHECK(viridis(0) == "#440154");
  CHECK(viridis(1) == "#fde725");
  CHECK(viridis(-3) == "#440154");
  CHECK(viridis(7) == "#fde725");
  CHECK(viridis(0.5) == "#21918c");
  CHECK(run_colour(0) != run_colour(1));
}
