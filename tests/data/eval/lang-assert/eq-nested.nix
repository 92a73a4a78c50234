assert { p.q = [ true ]; } == { p.q = [ false ]; }; null
