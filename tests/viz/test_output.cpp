#include <doctest/doctest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>

#include "engine/error.hpp"
#include "viz/attention_map.hpp"
#include "viz/curves.hpp"
#include "viz/output.hpp"
#include "viz_check.hpp"

#ifdef ATTOGRAD_TEST_CAIRO
#include <cairo.h>
#endif

using namespace attograd;

namespace {

Svg small_drawing() {
  MetricsRun run{"r", {}};
  for (int i = 1; i <= 20; ++i) run.records.push_back({double(i), 4.0 / i + 1, 1e-3, 3000, {}, {}});
  CurveOptions options;
  options.width = 400;
  options.height = 300;
  return plot_curves({run}, options);
}

}  // namespace

TEST_CASE("the output format comes from the extension and an unknown one is an error") {
  CHECK_NOTHROW(check_drawing_path("a/b/plot.svg"));
  CHECK_NOTHROW(check_drawing_path("plot.SVG"));
  CHECK_THROWS_WITH_AS(check_drawing_path("plot.jpg"), doctest::Contains("unknown output format '.jpg'"), Error);
  CHECK_THROWS_WITH_AS(check_drawing_path("plot"), doctest::Contains("(no extension)"), Error);
  CHECK_THROWS_AS(save_drawing(small_drawing(), test::scratch_dir() / "plot.pdf"), Error);
  CHECK_FALSE(std::filesystem::exists(test::scratch_dir() / "plot.pdf"));
}

TEST_CASE("an SVG is written as it is and a bad directory is a FileError") {
  Svg svg = small_drawing();
  auto path = test::scratch_dir() / "plot.svg";
  save_drawing(svg, path);
  CHECK(test::read_text(path) == svg.text);
  CHECK_THROWS_AS(save_drawing(svg, test::scratch_dir() / "no-such-dir" / "plot.svg"), FileError);
}

TEST_CASE("a picture that does not fit on the disk leaves the old one whole, and no partial file") {
  const Svg svg = small_drawing();
  const auto path = test::scratch_dir() / "full_disk.svg";
  save_drawing(Svg{"<svg/>"}, path);
  // A file size limit stands in for a full disk: writes past it fail with EFBIG.
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = svg.text.size() / 2;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  CHECK_THROWS_WITH_AS(save_drawing(svg, path), doctest::Contains("full_disk.svg: write failed"), FileError);
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  CHECK(test::read_text(path) == "<svg/>");
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::scratch_dir()))
    files += e.path().filename().string().starts_with("full_disk.svg");
  CHECK(files == 1);
}

TEST_CASE("attention plots are saved one file per kind next to the given path") {
  AttentionMap m{AttentionKind::decoder_self, 0, {"a", "b"}, {"a", "b"}, 1, {1, 0, 0.5, 0.5}};
  auto written = save_attention_plots({m}, test::scratch_dir() / "attn.svg");
  REQUIRE(written.size() == 1);
  CHECK(written[0] == test::scratch_dir() / "attn_decoder_self_attention.svg");
  CHECK(std::filesystem::exists(written[0]));
}

#ifdef ATTOGRAD_TEST_CAIRO
TEST_CASE("a PNG is the same drawing rasterised and decodes to the right size") {
  REQUIRE(png_supported());
  auto path = test::scratch_dir() / "plot.png";
  save_drawing(small_drawing(), path, 2.0);
  cairo_surface_t* image = cairo_image_surface_create_from_png(path.c_str());
  REQUIRE(cairo_surface_status(image) == CAIRO_STATUS_SUCCESS);
  CHECK(cairo_image_surface_get_width(image) == 800);
  CHECK(cairo_image_surface_get_height(image) == 600);
  // Something was drawn: not every pixel is the white background.
  cairo_surface_flush(image);
  const unsigned char* data = cairo_image_surface_get_data(image);
  int stride = cairo_image_surface_get_stride(image);
  size_t dark = 0;
  for (int y = 0; y < 600; ++y)
    for (int x = 0; x < 800; ++x) dark += data[y * stride + 4 * x] < 128;
  CHECK(dark > 1000);
  cairo_surface_destroy(image);
}
#else
TEST_CASE("without librsvg, PNG output is refused with a clear error") {
  CHECK_FALSE(png_supported());
  CHECK_THROWS_WITH_AS(check_drawing_path("plot.png"), doctest::Contains("PNG output is not available"), Error);
}
#endif
