// Elementwise ops with numpy broadcasting.
//
//   add(a, b), sub(a, b), mul(a, b), div(a, b)   a, b broadcast to out
//   neg(x), exp(x), log(x), relu(x), scale(x, s) out has x's shape
//   a + b, a - b, a * b, a / b, -a               operator forms
//
// Backward (g = dL/dout; the engine sums broadcast dims back to each input):
//   add: (g, g)   sub: (g, -g)   mul: (g*b, g*a)   div: (g/b, -g*a/b^2)
//   neg: -g   exp: g*out   log: g/x   relu: g*[out > 0]   scale: s*g
#pragma once

#include "engine/graph.hpp"

namespace attograd {

Expr add(Expr a, Expr b);
Expr sub(Expr a, Expr b);
Expr mul(Expr a, Expr b);
Expr div(Expr a, Expr b);
Expr neg(Expr x);
Expr exp(Expr x);
Expr log(Expr x);
Expr relu(Expr x);
Expr scale(Expr x, double s);

inline Expr operator+(Expr a, Expr b) { return add(a, b); }
inline Expr operator-(Expr a, Expr b) { return sub(a, b); }
inline Expr operator*(Expr a, Expr b) { return mul(a, b); }
inline Expr operator/(Expr a, Expr b) { return div(a, b); }
inline Expr operator-(Expr a) { return neg(a); }

class OpRegistry;
void register_elementwise_ops(OpRegistry& registry);

}  // namespace attograd
