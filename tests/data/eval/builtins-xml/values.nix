# Every kind of value; attributes sorted; escapes in attribute values; function patterns.
builtins.toXML {
  i = -3;
  f = 1.5;
  b = false;
  n = null;
  s = "a<b>&\"c\"\nd";
  p = /tmp/x;
  l = [ 1 [ ] { } ];
  fun = x: x;
  pat = { z, a ? 1, ... }@args: a;
  pat2 = { q }: q;
  prim = builtins.map;
  drv = { type = "derivation"; drvPath = "/nix/store/aaa-x.drv"; outPath = "/nix/store/bbb-x"; name = "x"; };
  again = [ { type = "derivation"; drvPath = "/nix/store/aaa-x.drv"; } ];
}
