builtins.derivationStrict {
  name = "x";
  builder = "/b";
  outputHashMode = "recursive";
}
