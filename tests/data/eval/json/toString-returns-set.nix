builtins.toJSON { __toString = self: { a = 1; }; }
