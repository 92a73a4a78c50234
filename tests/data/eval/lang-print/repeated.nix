let s = { a = 1; }; l = [ 2 ]; in [ s s l l [ 3 ] ]
