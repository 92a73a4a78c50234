assert 2 == 2.5; null
