[ (import <sp/one.nix>) (import <sub/two.nix>) ]
