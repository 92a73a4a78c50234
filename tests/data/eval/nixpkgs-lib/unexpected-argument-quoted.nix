# An unexpected argument's name is printed as Nix prints identifiers: quoted when it is not one
# (lib.fileset.fileFilter passes an argument named by a sentence, and its tests check the text).
({ name, type }: name) { name = "a"; type = "regular"; "lib: use { name, ... }" = null; }
