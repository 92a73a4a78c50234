# A `<…>` lookup that finds nothing names the search path.
builtins.findFile [ ] "nothing/here"
