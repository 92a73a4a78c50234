# The outPath is peeled, then its __toString, whose result must be a string.
builtins.toJSON { outPath = { __toString = self: [ ]; }; }
