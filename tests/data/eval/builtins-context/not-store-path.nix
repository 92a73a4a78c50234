builtins.appendContext "" { "/tmp/x" = { path = true; }; }
