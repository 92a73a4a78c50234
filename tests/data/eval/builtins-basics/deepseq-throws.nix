# deepSeq forces nested values, so a throw deep inside surfaces.
builtins.deepSeq { a = [ 1 (throw "deep inside") ]; } 1
