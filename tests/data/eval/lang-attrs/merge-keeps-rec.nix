{ s = rec { p = q; q = 1; }; s.r = q + 1; }.s.r
