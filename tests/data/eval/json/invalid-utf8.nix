builtins.toJSON { a = [ "ok" "${builtins.substring 0 1 "é"}x" ]; }
