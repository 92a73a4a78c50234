# abort stops evaluation with its message.
if true then abort "stop here" else 1
