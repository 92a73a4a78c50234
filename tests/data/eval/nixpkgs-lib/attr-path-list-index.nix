# The attribute path after `--file` takes list indices, as Nix's findAlongAttrPath (lib's
# module tests select `config.submodule.internalFiles.0`).
{ a = [ 1 { b = [ "x" "y" ]; } ]; }
