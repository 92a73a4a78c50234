# String keys: duplicates dropped, order of discovery kept.
builtins.genericClosure {
  startSet = [ { key = "a"; } { key = "b"; } ];
  operator = e: if e.key == "a" then [ { key = "b"; } { key = "c"; } ] else [ { key = "a"; } ];
}
