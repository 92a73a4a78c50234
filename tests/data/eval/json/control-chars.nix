# DEL (0x7f) is not escaped, other control characters are.
builtins.toJSON (builtins.fromJSON "\"\\u007f\\u0001\"")
