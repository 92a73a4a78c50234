# addErrorContext adds a frame to the trace; the final message stays the error's own.
builtins.addErrorContext "while doing something" (throw "the real error")
