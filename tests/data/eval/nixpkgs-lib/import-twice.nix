# The same file imported twice (as nixpkgs lib's tests/misc.nix imports ../default.nix after
# the caller imported lib): the second import gives the cached value, already forced, to
# `inherit (…)`, a selection and `seq`.
let
  first = import ./files/small-lib.nix;
  second = builtins.seq first (import ./files/small-lib.nix);
  inherit (second) id twice;
in
[ (id 1) (twice (x: x * 2) 3) ((import ./files/small-lib.nix).id "s") ]
