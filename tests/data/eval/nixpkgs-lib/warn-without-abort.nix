# Without `abort-on-warn`, `builtins.warn` returns its second argument.
builtins.tryEval (builtins.warn "deprecated" 1)
