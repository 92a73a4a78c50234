builtins.flakeRefToString { type = "github"; owner = "NixOS"; repo = [ ]; }
