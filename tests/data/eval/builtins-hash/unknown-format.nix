builtins.convertHash { hash = "abc"; toHashFormat = "hex"; }
