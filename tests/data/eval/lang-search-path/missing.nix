<nowhere/x.nix>
