let x = { }; in assert 1 < 2 && x.y or false && !(3 >= 4); null
