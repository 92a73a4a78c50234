# The type predicates, typeOf and toString's coercions.
let f = x: x; in [
  (map builtins.typeOf [ 1 1.5 "s" true null [ ] { } f ./types.nix builtins.add (builtins.add 1) ])
  (builtins.isBool false)
  (builtins.isBool 0)
  (builtins.isFunction f)
  (builtins.isFunction builtins.map)
  (builtins.isFunction { __functor = s: x: x; })
  (builtins.isList [ 1 ])
  (builtins.isNull null)
  (builtins.isPath ./types.nix)
  (builtins.isPath "/a")
  (builtins.isString "a")
  (builtins.isString ./types.nix)
  (builtins.toString [ 1 true false null "x" [ 2.5 ] ])
  (builtins.toString { __toString = self: "me"; })
  (builtins.toString { outPath = "/out"; })
  (builtins.toPath "/a/b/../c")
]
