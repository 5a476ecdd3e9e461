// Hyperparameters: named numbers that configure an optimizer or a learning-rate
// schedule. They travel as strings on the command line ("beta2=0.98") and in
// checkpoint metadata, so every factory takes this one map type and refuses
// names it does not know instead of silently ignoring a typo.
//
//   Hyperparameters hp = resolve_hyperparameters("adam", {{"beta2", 0.98}},
//                                                {{"beta1", 0.9}, {"beta2", 0.999}});
//   hp.at("beta1") == 0.9;  hp.at("beta2") == 0.98
#pragma once

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

namespace attograd {

using Hyperparameters = std::map<std::string, double, std::less<>>;

// `defaults` overridden by `given`. Throws Error "[who] unknown parameter 'x'
// (known: a, b)" for a name absent from `defaults` and `required`, and
// "[who] missing parameter 'x'" for a `required` name absent from `given`.
Hyperparameters resolve_hyperparameters(std::string_view who, const Hyperparameters& given,
                                        const Hyperparameters& defaults,
                                        std::initializer_list<std::string_view> required = {});

// "beta1=0.9, eps=1e-08": for logs and error messages.
std::string to_string(const Hyperparameters& hp);

}  // namespace attograd
