let f = x: x; in [ ([ f ] == [ f ]) ((x: x) == (x: x)) ({ g = f; } == { g = f; }) (f == f) ]
