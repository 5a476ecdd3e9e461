// Helper for read_safetensors.py, the independent (Python + numpy) check of
// attograd's safetensors files:
//   safetensors_tool write-sample DIR   writes DIR/checkpoint.safetensors (a
//                                       checkpoint with optimizer state) and
//                                       DIR/tensors.safetensors (i32, scalar,
//                                       empty tensors); values follow formulas
//                                       the script recomputes
//   safetensors_tool dump FILE          prints "meta KEY VALUE" lines, then
//                                       "tensor NAME DTYPE DIMS... : HEXBYTES"
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "train/checkpoint.hpp"
#include "engine/error.hpp"

using namespace attograd;

namespace {

// Parameter j, element k: (k - 3) / 8 + j. Its "exp_avg" is half of that,
// its "exp_avg_sq" k / 16. All exact in f32.
void write_sample(const std::string& dir) {
  ParameterStore store;
  const std::pair<const char*, Shape> params[] = {{"encoder.layers.0.self_attn.q_proj.weight", {4, 3}},
                                                  {"encoder.layers.0.self_attn.q_proj.bias", {4}},
                                                  {"generator.proj.weight", {2, 2}}};
  for (std::size_t j = 0; j < std::size(params); ++j) {
    const DType dtype = j == 2 ? DType::f64 : DType::f32;
    Parameter& p = store.get_or_create(params[j].first, dtype, params[j].second, Init::zeros());
    p.state["exp_avg"] = Tensor::empty(dtype, p.value.shape());
    p.state["exp_avg_sq"] = Tensor::empty(dtype, p.value.shape());
    visit_floating(dtype, [&]<class T>(T) {
      for (std::int64_t k = 0; k < p.value.numel(); ++k) {
        p.value.data<T>()[k] = static_cast<T>((static_cast<double>(k) - 3) / 8 + static_cast<double>(j));
        p.state["exp_avg"].data<T>()[k] = p.value.data<T>()[k] / 2;
        p.state["exp_avg_sq"].data<T>()[k] = static_cast<T>(static_cast<double>(k) / 16);
      }
    });
  }
  const TrainingState state{.step = 7, .seed = 42, .optimizer = "adam",
                            .optimizer_hyperparameters = {{"beta1", 0.9}, {"beta2", 0.98}, {"eps", 1e-9}},
                            .schedule = "noam", .schedule_parameters = {{"warmup", 4000}},
                            .extra = {{"note", "written by attograd"}}};
  save_checkpoint(dir + "/checkpoint.safetensors", store, state);
  save_safetensors(dir + "/tensors.safetensors",
                   {{"ids", Tensor::from<std::int32_t>({2, 3}, {0, 1, -1, 2147483647, -2147483647 - 1, 5})},
                    {"scalar", Tensor::scalar(DType::f64, 0.1)},
                    {"empty", Tensor::zeros(DType::f32, {0, 4})}});
}

void dump(const std::string& path) {
  const SafetensorsFile f = load_safetensors(path);
  for (const auto& [key, value] : f.metadata) std::printf("meta %s %s\n", key.c_str(), value.c_str());
  for (const auto& [name, t] : f.tensors) {
    std::string line = fmt::format("tensor {} {}", name, dtype_name(t.dtype()));
    for (auto d : t.shape()) line += fmt::format(" {}", d);
    line += " :";
    const auto* bytes = static_cast<const unsigned char*>(t.raw());
    line += t.nbytes() ? " " : "";
    for (std::size_t i = 0; i < t.nbytes(); ++i) line += fmt::format("{:02x}", bytes[i]);
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 3 ? argv[1] : "";
  try {
    if (mode == "write-sample") write_sample(argv[2]);
    else if (mode == "dump") dump(argv[2]);
    else {
      std::fprintf(stderr, "usage: safetensors_tool write-sample DIR | dump FILE\n");
      return 2;
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
