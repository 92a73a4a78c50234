builtins.convertHash { hash = "abc"; }
