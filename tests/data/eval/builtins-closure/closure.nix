# Breadth-first, first element of each key kept, keys of mixed numeric types equal.
builtins.genericClosure {
  startSet = [ { key = 1; } { key = 1.0; tag = "dup"; } ];
  operator = e: if e.key < 5 then [ { key = e.key + 2; } { key = e.key * 1.0 + 1; } ] else [ ];
}
