# Attribute-set builtins and argument introspection.
let s = { b = 2; a = 1; c = { d = 4; }; };
in [
  (builtins.attrNames s)
  (builtins.attrValues { y = "Y"; x = "X"; })
  (builtins.catAttrs "a" [ { a = 1; } { b = 2; } { a = 3; } ])
  (builtins.getAttr "b" s)
  (builtins.hasAttr "c" s)
  (builtins.hasAttr "z" s)
  (builtins.intersectAttrs { a = null; c = null; z = null; } s)
  (builtins.listToAttrs [ { name = "k"; value = 1; } { name = "k"; value = 2; } { name = "j"; value = 0; } ])
  (builtins.zipAttrsWith (n: vs: { inherit n vs; }) [ { a = 1; } { a = 2; b = 3; } ])
  (builtins.isAttrs s)
  (builtins.isAttrs [ ])
  (builtins.functionArgs ({ x, y ? 1, ... }: x))
  (builtins.functionArgs (x: x))
]
