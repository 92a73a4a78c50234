let check = v: assert v == "b"; v; in check "a"
