{ id = x: x; twice = f: x: f (f x); }
