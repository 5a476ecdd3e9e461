// Pointwise activations and roots. Each output has its input's shape.
//
//   gelu(x)        x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))    (exact, PyTorch's default)
//   gelu(x, true)  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (GPT-2's form)
//   tanh(x)        (e^x - e^-x) / (e^x + e^-x)
//   sigmoid(x)     1 / (1 + e^-x)
//   sqrt(x)        x^(1/2)        rsqrt(x)  x^(-1/2)
//
//   x (B, T, F) -> gelu(x) (B, T, F);  gelu(0) = 0, gelu(1) = 0.8413447, sigmoid(0) = 0.5
//
// Backward (g = dL/dout, y = out):
//   gelu: g * (Phi(x) + x phi(x))      tanh: g * (1 - y^2)    sigmoid: g * y (1 - y)
//   sqrt: g * 0.5 / y                  rsqrt: g * -0.5 y^3
// tanh, sigmoid, sqrt and rsqrt read only their output in backward; gelu its input.
#pragma once

#include "engine/graph.hpp"

namespace attograd {

Expr gelu(Expr x, bool tanh_approximation = false);
Expr tanh(Expr x);
Expr sigmoid(Expr x);
Expr sqrt(Expr x);
Expr rsqrt(Expr x);

class OpRegistry;
void register_activation_ops(OpRegistry& registry);

}  // namespace attograd
