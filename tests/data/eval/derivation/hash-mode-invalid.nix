# Attributes are read in order of their names: a bad outputHashMode is found
# before the missing system.
builtins.derivationStrict {
  name = "x";
  builder = 1;
  outputHashMode = 15;
}
