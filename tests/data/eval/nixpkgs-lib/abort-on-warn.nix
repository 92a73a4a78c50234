# `abort-on-warn` (lib/tests/modules.sh runs with it): `builtins.warn` prints its warning, then
# fails with an error `tryEval` does not catch.
builtins.tryEval (builtins.warn "deprecated" 1)
