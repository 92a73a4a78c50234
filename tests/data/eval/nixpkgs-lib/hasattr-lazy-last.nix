# `x ? a.b` forces the sets along the path, never the last attribute's value: nixpkgs lib's
# `testFix` asks `x ? a` while `x.a` is being evaluated.
let
  fix = f: let x = f x; in x;
  r = fix (x: { a = if x ? a then "a" else "b"; });
  y = { a.b = y ? a.b; c = throw "not forced"; d = y ? c; };
in
[ r.a y.a.b y.d ({ a = 1; } ? a.b) ({ a.b = throw "forced"; } ? a.b) ]
