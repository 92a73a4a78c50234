# `mapAttrs` builds attributes without positions, as Nix: lib's module tests check that an
# option declared through `mapAttrs (k: v: v)` has no declaration line.
let
  s = { a = true; };
  pos = builtins.unsafeGetAttrPos "a" s;
in
[
  (pos.line)
  (builtins.unsafeGetAttrPos "a" (builtins.mapAttrs (k: v: v) s))
  (builtins.unsafeGetAttrPos "a" (s // { }) == pos)
  (builtins.unsafeGetAttrPos "a" (builtins.removeAttrs s [ ]) == pos)
]
