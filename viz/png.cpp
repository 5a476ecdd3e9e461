// Rasterising an SVG string with librsvg into a cairo image surface, then
// encoding it as PNG with cairo's writer (which uses libpng). Built without
// librsvg, the functions say so instead.
#include "viz/output.hpp"

#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "engine/error.hpp"

#ifdef ATTOGRAD_HAVE_RSVG
#include <cairo.h>
#include <librsvg/rsvg.h>
#endif

namespace attograd {

#ifdef ATTOGRAD_HAVE_RSVG

namespace {

struct Unref {
  void operator()(RsvgHandle* h) const { g_object_unref(h); }
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
  void operator()(cairo_t* c) const { cairo_destroy(c); }
  void operator()(GError* e) const { g_error_free(e); }
};

template <class T>
using Owned = std::unique_ptr<T, Unref>;

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<std::vector<unsigned char>*>(closure);
  out->insert(out->end(), data, data + length);
  return CAIRO_STATUS_SUCCESS;
}

Owned<RsvgHandle> load_svg(const Svg& svg) {
  GError* raw_error = nullptr;
  Owned<RsvgHandle> handle(rsvg_handle_new_from_data(
      reinterpret_cast<const guint8*>(svg.text.data()), svg.text.size(), &raw_error));
  Owned<GError> error(raw_error);
  if (!handle)
    throw Error(fmt::format("[viz] librsvg cannot read the drawing: {}", error ? error->message : "unknown error"));
  return handle;
}

}  // namespace

bool png_supported() { return true; }

std::vector<unsigned char> render_png(const Svg& svg, double scale) {
  int width = static_cast<int>(std::ceil(svg.width * scale));
  int height = static_cast<int>(std::ceil(svg.height * scale));
  if (!(scale > 0) || width <= 0 || height <= 0 || double(width) * height > 2e8)
    throw Error(fmt::format("[viz] cannot rasterise a {}x{} drawing at scale {}", svg.width, svg.height, scale));
  Owned<RsvgHandle> handle = load_svg(svg);
  Owned<cairo_surface_t> surface(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height));
  Owned<cairo_t> cr(cairo_create(surface.get()));
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  RsvgRectangle viewport{0, 0, double(width), double(height)};
  GError* raw_error = nullptr;
  bool ok = rsvg_handle_render_document(handle.get(), cr.get(), &viewport, &raw_error);
  Owned<GError> error(raw_error);
  if (!ok || cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS)
    throw Error(fmt::format("[viz] librsvg cannot render the drawing: {}",
                            error ? error->message : cairo_status_to_string(cairo_status(cr.get()))));
  std::vector<unsigned char> png;
  if (cairo_surface_write_to_png_stream(surface.get(), append_bytes, &png) != CAIRO_STATUS_SUCCESS)
    throw Error("[viz] cairo cannot encode the PNG");
  return png;
}

#else

bool png_supported() { return false; }

std::vector<unsigned char> render_png(const Svg&, double) {
  throw Error("[viz] PNG output is not available in this build (needs librsvg2-dev and libcairo2-dev)");
}

#endif

}  // namespace attograd
