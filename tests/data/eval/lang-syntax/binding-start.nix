let x = 1; 2 = x; in x
