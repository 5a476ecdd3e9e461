// Format dispatch and file writing; the rasteriser lives in png.cpp so only
// that file sees the glib/cairo headers.
#include "viz/output.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "io/atomic_file.hpp"

namespace attograd {
namespace {

std::string lower_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// Atomically: a full disk or a kill leaves the old picture or none, never a truncated one.
void write_bytes(const std::filesystem::path& path, const char* data, size_t size) {
  AtomicFileWriter out(path.string());
  out.write(data, size);
  out.commit();
}

}  // namespace

void check_drawing_path(const std::filesystem::path& path) {
  std::string ext = lower_extension(path);
  if (ext == ".svg") return;
  if (ext == ".png") {
    if (!png_supported())
      throw Error(fmt::format("[viz] PNG output is not available in this build (needs librsvg2-dev "
                              "and libcairo2-dev); write {} as .svg instead", path.string()));
    return;
  }
  throw Error(fmt::format("[viz] unknown output format '{}' for {}: use .svg or .png",
                          ext.empty() ? "(no extension)" : ext, path.string()));
}

void save_drawing(const Svg& svg, const std::filesystem::path& path, double png_scale) {
  check_drawing_path(path);
  if (lower_extension(path) == ".svg") {
    write_bytes(path, svg.text.data(), svg.text.size());
    return;
  }
  std::vector<unsigned char> png = render_png(svg, png_scale);
  write_bytes(path, reinterpret_cast<const char*>(png.data()), png.size());
}

}  // namespace attograd
