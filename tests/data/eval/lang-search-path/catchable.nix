let throw = _: true; in (builtins.tryEval <nowhere>).success
